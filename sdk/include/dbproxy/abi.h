/* dbproxy plugin ABI: the whole contract between dbproxyd and a plugin .so.
 *
 * Conventions (said once here; each function states only its exceptions):
 *  - Errors: functions return int; 0 (DBP_OK) is success, negative DBP_E_* is an error.
 *    dbp_host_api_t.strerror() names a code. Nothing here throws or longjmps.
 *  - Buffers: binary data crosses as (pointer, length); strings without a length are
 *    NUL-terminated UTF-8. Lengths are in bytes.
 *  - Booleans are int, 0 or 1.
 *  - Nullness: pointer arguments must be non-NULL unless the comment says "may be NULL".
 *  - Ownership: the caller keeps what it passes in; the host copies what it keeps. Objects
 *    the host hands out (results, replies) are owned by the receiver until the matching
 *    *_free call. Data the host lends to a callback lives for that callback only.
 *  - Threads: a plugin's handlers, timers and event callbacks run on host worker threads,
 *    possibly several at once; a plugin guards its own shared state. init and shutdown
 *    run on the host's control thread, never concurrently with that plugin instance's
 *    handlers.
 *  - Versioning: DBP_ABI_MAJOR changes only when something is removed or changes meaning;
 *    DBP_ABI_MINOR grows when something is appended. Structs carry their size first and
 *    only grow at the end. The host loads a plugin when majors are equal and the plugin's
 *    minor is <= the host's. New host functions may be NULL in older hosts: test before use.
 */
#ifndef DBPROXY_ABI_H_
#define DBPROXY_ABI_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DBP_ABI_MAJOR 1
#define DBP_ABI_MINOR 1

/* The one symbol a plugin exports. */
#define DBP_PLUGIN_ENTRY_SYMBOL "dbp_plugin_entry"

#if defined(__GNUC__)
#define DBP_EXPORT __attribute__((visibility("default")))
#else
#define DBP_EXPORT
#endif

/* ---- Error codes ---------------------------------------------------------------- */
#define DBP_OK 0
#define DBP_E_INVALID (-1)     /* bad argument */
#define DBP_E_STATE (-2)       /* call not allowed now (e.g. register after init) */
#define DBP_E_NOT_FOUND (-3)   /* no such pool, instance, command, key */
#define DBP_E_TIMEOUT (-4)     /* waited too long (pool acquire, I/O) */
#define DBP_E_UNAVAILABLE (-5) /* backend down or connection lost */
#define DBP_E_MYSQL (-6)       /* MySQL reported an error; see mysql_error() */
#define DBP_E_REDIS (-7)       /* Redis protocol or server error */
#define DBP_E_CONFIG (-8)      /* config key has the wrong type or a bad value */
#define DBP_E_CONFLICT (-9)    /* command id already registered */
#define DBP_E_NOMEM (-10)
#define DBP_E_INTERNAL (-11)

/* ---- Log levels ----------------------------------------------------------------- */
#define DBP_LOG_DEBUG 1
#define DBP_LOG_INFO 2
#define DBP_LOG_WARN 3
#define DBP_LOG_ERROR 4

/* ---- Opaque handles ------------------------------------------------------------- */
typedef struct dbp_plugin dbp_plugin_t;   /* one loaded plugin instance */
typedef struct dbp_request dbp_request_t; /* one request being handled */
typedef struct dbp_mysql dbp_mysql_t;     /* a MySQL connection lent from a pool */
typedef struct dbp_mysql_result dbp_mysql_result_t;
typedef struct dbp_redis_reply dbp_redis_reply_t;
typedef struct dbp_redis_pipeline dbp_redis_pipeline_t;

/* ---- Plugin callbacks ----------------------------------------------------------- */

/* Handles one request. Called on a worker thread. req is valid until the handler returns.
 * A command with a response must call reply() exactly once before returning. */
typedef void (*dbp_handler_fn)(dbp_request_t* req, void* user);

/* Optional: returns an ordering key for a request body (0 = unordered). Requests with the
 * same non-zero key -- from any connection, of any command of any module -- start in
 * arrival order and never run at the same time; fold a module-specific constant into the
 * key to keep unrelated commands apart. Called on the loop thread: must be fast and must
 * not block. */
typedef uint64_t (*dbp_order_key_fn)(const uint8_t* body, size_t len, void* user);

/* Handles 1..max_batch requests of one batch command at once (ABI 1.1). reqs[0..count)
 * are the requests a worker found ready when it became free, from any connections; requests
 * with the same order key appear in arrival order, and a key's later requests start only
 * after this call returns. Each request is handled as by dbp_handler_fn: valid until the
 * handler returns, reply() exactly once each (unless DBP_CMD_NO_REPLY). The array itself
 * belongs to the host and lives for the call only. Called on a worker thread. */
typedef void (*dbp_batch_handler_fn)(dbp_request_t* const* reqs, size_t count, void* user);

/* Receives an event published by any module of the same generation. Runs synchronously on
 * the publisher's thread; data lives for the call only. */
typedef void (*dbp_event_fn)(const char* event, const void* data, size_t len, void* user);

/* A periodic timer owned by the host. Runs on a worker thread; never overlaps itself. */
typedef void (*dbp_timer_fn)(void* user);

/* Receives the reply of an in-process call(). body lives for the call only. */
typedef void (*dbp_call_reply_fn)(uint16_t cmd_id, const uint8_t* body, size_t len, void* user);

/* ---- Parameter values for prepared statements ------------------------------------ */
#define DBP_VALUE_NULL 0
#define DBP_VALUE_INT64 1
#define DBP_VALUE_UINT64 2
#define DBP_VALUE_DOUBLE 3
#define DBP_VALUE_BYTES 4 /* string or blob: (data, len), binary-safe */

typedef struct dbp_value {
  int type;
  int64_t i64;
  uint64_t u64;
  double f64;
  const char* data;
  size_t len;
} dbp_value_t;

/* ---- Redis reply types (same numbers as the RESP2 kinds) ------------------------- */
#define DBP_REDIS_STRING 1
#define DBP_REDIS_ARRAY 2
#define DBP_REDIS_INTEGER 3
#define DBP_REDIS_NIL 4
#define DBP_REDIS_STATUS 5
#define DBP_REDIS_ERROR 6

/* Command flags for register_command. */
#define DBP_CMD_INTERNAL 1u /* reachable only through call(), never from the network */
#define DBP_CMD_NO_REPLY 2u /* the protocol has no response (a reply is then an error) */

/* ---- Host services -------------------------------------------------------------- */
typedef struct dbp_host_api {
  uint32_t struct_size; /* sizeof(dbp_host_api_t) as the host was built */
  uint16_t abi_major;
  uint16_t abi_minor;

  /* Names an error code.
   * Returns:   a static string; never NULL.
   * Ownership: static storage. Lifetime: the process. Thread: any. */
  const char* (*strerror)(int code);

  /* ---- Registration: only inside init; all of a plugin's registrations land or none. */

  /* Registers the handler of a command id.
   * Returns:   DBP_OK; DBP_E_STATE outside init; DBP_E_CONFLICT if this plugin already
   *            claimed cmd_id (a clash with another module fails the whole load, naming both).
   * Ownership: user is borrowed; it must stay valid until shutdown returns.
   * Lifetime:  the registration lasts as long as this plugin instance. order_key may be NULL.
   * Thread:    init only. */
  int (*register_command)(dbp_plugin_t* p, uint16_t cmd_id, uint32_t flags, dbp_handler_fn fn,
                          dbp_order_key_fn order_key, void* user);

  /* Subscribes to a named event ("message.stored", ...).
   * Returns:   DBP_OK; DBP_E_STATE outside init.
   * Ownership: event is copied; user is borrowed until shutdown returns.
   * Thread:    init only. */
  int (*subscribe)(dbp_plugin_t* p, const char* event, dbp_event_fn fn, void* user);

  /* Adds a periodic timer owned by the host, first fired interval_ms after the generation
   * goes live. The host cancels it before shutdown() is called.
   * Returns:   DBP_OK; DBP_E_STATE outside init; DBP_E_INVALID if interval_ms is 0.
   * Ownership: user is borrowed until shutdown returns.
   * Thread:    init only; fn runs on a worker thread. */
  int (*add_timer)(dbp_plugin_t* p, uint32_t interval_ms, dbp_timer_fn fn, void* user);

  /* Reads a key of the plugin's own YAML section (plugins.modules.<name>). A key that no
   * config_* call reads during init makes the load fail as "unknown key".
   * Returns:   DBP_OK (absent keys yield def); DBP_E_CONFIG if present with another type;
   *            DBP_E_STATE outside init.
   * Ownership: *out of config_string points into host memory owned by the plugin instance.
   * Lifetime:  that string lives until shutdown returns.
   * Thread:    init only. */
  int (*config_int)(dbp_plugin_t* p, const char* key, int64_t def, int64_t* out);
  int (*config_bool)(dbp_plugin_t* p, const char* key, int def, int* out);
  int (*config_string)(dbp_plugin_t* p, const char* key, const char* def, const char** out);

  /* Records why init failed; shown in the load error and `dbproxyctl modules`.
   * Returns: DBP_OK. Ownership: msg is copied. Thread: init only. */
  int (*set_error)(dbp_plugin_t* p, const char* msg);

  /* ---- Logging and counters */

  /* Writes one log line under the logger "plugin.<name>".
   * Returns: DBP_OK. Ownership: msg is copied. Thread: any. */
  int (*log)(dbp_plugin_t* p, int level, const char* msg);

  /* Adds delta to the counter dbproxy_plugin_events_total{module,name} (created on first use).
   * Returns: DBP_OK. Ownership: name is copied. Thread: any. */
  int (*counter_add)(dbp_plugin_t* p, const char* name, int64_t delta);

  /* ---- Requests */

  /* Reads the request frame. body may be NULL when len is 0.
   * Returns:   DBP_OK.
   * Ownership: *body points into host memory. Lifetime: until the handler returns.
   * Thread:    the handler's thread. */
  int (*request_body)(dbp_request_t* req, const uint8_t** body, size_t* len);
  uint16_t (*request_command)(dbp_request_t* req);
  uint16_t (*request_seq)(dbp_request_t* req);
  uint64_t (*request_connection)(dbp_request_t* req); /* 0 for in-process calls */

  /* Queues the reply of a request: a frame with the request's seq, the given service id
   * and command id, and body as its protobuf body.
   * Returns:   DBP_OK; DBP_E_STATE if this request was already answered; DBP_E_INVALID if
   *            the frame would exceed the configured maximum.
   * Ownership: the host copies body[0, len). Lifetime: req valid until the handler returns.
   * Thread:    the handler's thread. */
  int (*reply)(dbp_request_t* req, uint16_t service_id, uint16_t cmd_id, const void* body,
               size_t len);

  /* ---- Events and in-process calls */

  /* Delivers an event synchronously, on this thread, to every subscriber in the plugin's
   * generation (including the publisher itself if subscribed).
   * Returns:   the number of subscribers called (>= 0).
   * Ownership: data is lent to subscribers for the duration of their callback.
   * Thread:    any worker (handlers, timers, events). Do not hold a pooled connection
   *            while publishing: a subscriber may need one from the same pool. */
  int (*publish)(dbp_plugin_t* p, const char* event, const void* data, size_t len);

  /* Runs the handler of cmd_id (of any module in this generation, internal ones included)
   * synchronously on this thread and passes its reply, if any, to on_reply before returning.
   * Returns:   DBP_OK; DBP_E_NOT_FOUND if no module handles cmd_id; DBP_E_STATE if the
   *            handler returned without replying (on_reply is then not called).
   * Ownership: body is lent to the handler; the reply body is lent to on_reply.
   * Thread:    any worker. */
  int (*call)(dbp_plugin_t* p, uint16_t cmd_id, const void* body, size_t len,
              dbp_call_reply_fn on_reply, void* user);

  /* ---- MySQL: named pools, prepared statements only */

  /* Borrows a connection from the named pool (e.g. "teamtalk_master"), waiting at most the
   * pool's acquire timeout.
   * Returns:   DBP_OK; DBP_E_NOT_FOUND (no such pool); DBP_E_TIMEOUT; DBP_E_UNAVAILABLE.
   * Ownership: *out is lent until mysql_release(); release exactly once.
   * Thread:    any worker; a connection is used by one thread at a time. Never hold two
   *            connections of one pool at once. */
  int (*mysql_acquire)(dbp_plugin_t* p, const char* pool, dbp_mysql_t** out);

  /* Returns a connection to its pool. An open transaction is rolled back.
   * Returns: DBP_OK. Thread: the thread that holds it. */
  int (*mysql_release)(dbp_mysql_t* conn);

  /* Prepares (cached per connection by SQL text) and executes one statement with '?'
   * parameters bound from params[0, nparams). Reconnects first if the connection was lost
   * outside a transaction. Every result column is delivered as text (numbers in decimal).
   * Returns:   DBP_OK; DBP_E_MYSQL (see mysql_error); DBP_E_UNAVAILABLE (connection lost).
   * Ownership: *out (may be NULL when the caller does not want the result) is owned by the
   *            caller until mysql_result_free(); the host copies params.
   * Thread:    the thread that holds conn. */
  int (*mysql_execute)(dbp_mysql_t* conn, const char* sql, size_t sql_len,
                       const dbp_value_t* params, size_t nparams, dbp_mysql_result_t** out);

  /* Transactions. begin turns autocommit off; commit and rollback end the transaction.
   * Returns: DBP_OK; DBP_E_MYSQL; DBP_E_UNAVAILABLE. Thread: the holder of conn. */
  int (*mysql_begin)(dbp_mysql_t* conn);
  int (*mysql_commit)(dbp_mysql_t* conn);
  int (*mysql_rollback)(dbp_mysql_t* conn);

  /* The last error of this connection.
   * Returns: a message ("" if none). Lifetime: until the next call on conn. */
  const char* (*mysql_error)(dbp_mysql_t* conn);
  unsigned (*mysql_errno)(dbp_mysql_t* conn);

  /* Result sets: fully buffered, read-only, usable from any thread by one owner. */
  size_t (*mysql_result_rows)(const dbp_mysql_result_t* r);
  size_t (*mysql_result_columns)(const dbp_mysql_result_t* r);
  uint64_t (*mysql_result_affected)(const dbp_mysql_result_t* r); /* rows matched */
  uint64_t (*mysql_result_insert_id)(const dbp_mysql_result_t* r);
  /* Returns 1 and sets (*data, *len) for a value, 0 for SQL NULL (*data = NULL, *len = 0),
   * DBP_E_INVALID when out of range. Lifetime: data lives until mysql_result_free(). */
  int (*mysql_result_cell)(const dbp_mysql_result_t* r, size_t row, size_t col, const char** data,
                           size_t* len);
  void (*mysql_result_free)(dbp_mysql_result_t* r); /* r may be NULL */

  /* ---- Redis: named instances, argv-style (binary-safe) */

  /* Runs one command on the named instance ("unread", "group_member", ...).
   * Returns:   DBP_OK (a Redis error reply is DBP_OK with type DBP_REDIS_ERROR);
   *            DBP_E_NOT_FOUND; DBP_E_TIMEOUT; DBP_E_UNAVAILABLE.
   * Ownership: argv is copied; *out (may be NULL if unwanted) is the caller's until
   *            redis_reply_free().
   * Thread:    any worker. */
  int (*redis_command)(dbp_plugin_t* p, const char* instance, int argc, const char* const* argv,
                       const size_t* argvlen, dbp_redis_reply_t** out);

  /* Pipelines: begin, append commands, exec once. exec sends them all in one write and
   * returns an ARRAY reply whose element i is the reply of command i. exec frees the
   * pipeline whatever it returns; a pipeline never exec'ed is freed with pipeline_free.
   * Returns:   begin: NULL if the instance does not exist. exec: as redis_command.
   * Thread:    one thread at a time per pipeline. */
  dbp_redis_pipeline_t* (*redis_pipeline_begin)(dbp_plugin_t* p, const char* instance);
  int (*redis_pipeline_append)(dbp_redis_pipeline_t* pl, int argc, const char* const* argv,
                               const size_t* argvlen);
  int (*redis_pipeline_exec)(dbp_redis_pipeline_t* pl, dbp_redis_reply_t** out);
  void (*redis_pipeline_free)(dbp_redis_pipeline_t* pl);

  /* Reply accessors. Element pointers belong to the top-level reply. */
  int (*redis_reply_type)(const dbp_redis_reply_t* r);
  long long (*redis_reply_integer)(const dbp_redis_reply_t* r);
  /* For STRING, STATUS and ERROR: sets (*data, *len). Returns 0 for other types. */
  int (*redis_reply_string)(const dbp_redis_reply_t* r, const char** data, size_t* len);
  size_t (*redis_reply_elements)(const dbp_redis_reply_t* r);
  const dbp_redis_reply_t* (*redis_reply_element)(const dbp_redis_reply_t* r, size_t i);
  void (*redis_reply_free)(dbp_redis_reply_t* r); /* top-level replies only; may be NULL */

  /* ---- ABI 1.1 */

  /* Registers a batch command: like register_command, but the host may hand several of
   * its queued requests to one call of fn (see dbp_batch_handler_fn), so a module can serve
   * them with one storage round trip or one transaction. A batch never mixes generations
   * or commands. At most max_running batches of the command run at once (0 = no cap
   * beyond the worker count); while the cap is reached its requests wait, other commands'
   * requests pass them, and the next batch takes all that queued meanwhile -- group
   * commit. In-process call() of the command runs fn with one request, outside the cap.
   * Returns:   as register_command; DBP_E_INVALID if fn is NULL or max_batch is 0.
   * Ownership: user is borrowed; it must stay valid until shutdown returns.
   * Lifetime:  as register_command. order_key may be NULL.
   * Thread:    init only. NULL in hosts older than ABI 1.1. */
  int (*register_batch_command)(dbp_plugin_t* p, uint16_t cmd_id, uint32_t flags,
                                dbp_batch_handler_fn fn, dbp_order_key_fn order_key,
                                uint32_t max_batch, uint32_t max_running, void* user);
} dbp_host_api_t;

/* ---- The plugin's descriptor ---------------------------------------------------- */

#define DBP_PLUGIN_RELOADABLE 1u /* may be replaced under load by a new generation */

typedef struct dbp_plugin_descriptor {
  uint32_t struct_size; /* sizeof(dbp_plugin_descriptor_t) as the plugin was built */
  uint16_t abi_major;   /* DBP_ABI_MAJOR the plugin was built against */
  uint16_t abi_minor;
  const char* name;    /* module name; must equal the name it is enabled under */
  const char* version; /* free-form, e.g. "1.2.0" */
  uint32_t flags;      /* DBP_PLUGIN_* */

  /* Sets the plugin up: registers commands, subscriptions and timers, reads config.
   * Returns:   DBP_OK, or a negative code (call set_error first to say why); on failure
   *            nothing it registered stays and shutdown is not called.
   * Ownership: host and p live until shutdown returns; *state is the plugin's own.
   * Thread:    the host's control thread. */
  int (*init)(const dbp_host_api_t* host, dbp_plugin_t* p, void** state);

  /* Tears the plugin down after its last handler, timer and event callback has returned.
   * Thread: the host's control thread. May be NULL. */
  void (*shutdown)(void* state);
} dbp_plugin_descriptor_t;

typedef const dbp_plugin_descriptor_t* (*dbp_plugin_entry_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* DBPROXY_ABI_H_ */
