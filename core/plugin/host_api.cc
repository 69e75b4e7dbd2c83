#include "core/plugin/host_api.h"

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "core/admin/metrics.h"
#include "core/base/log.h"
#include "core/net/frame_codec.h"
#include "core/plugin/generation.h"
#include "core/plugin/host_services.h"
#include "core/plugin/module.h"
#include "core/plugin/request_context.h"
#include "core/storage/mysql_pool.h"
#include "core/storage/redis_pool.h"
#include "core/storage/replica_reads.h"

// The opaque ABI handles are these core types. The casts live only in this file.
struct dbp_mysql {
  dbproxy::storage::MysqlPool* pool;
  dbproxy::storage::MysqlConnection* conn;
  std::string error;
};
struct dbp_redis_pipeline {
  dbproxy::storage::RedisPool* pool;
  std::vector<std::vector<std::string>> commands;
};

namespace dbproxy::plugin {
namespace {

using storage::MysqlResultSet;
using storage::RedisReply;

Module* M(dbp_plugin_t* p) { return reinterpret_cast<Module*>(p); }
RequestContext* R(dbp_request_t* r) { return reinterpret_cast<RequestContext*>(r); }
const MysqlResultSet* Res(const dbp_mysql_result_t* r) {
  return reinterpret_cast<const MysqlResultSet*>(r);
}
const RedisReply* Rep(const dbp_redis_reply_t* r) { return reinterpret_cast<const RedisReply*>(r); }

uint64_t NowMicros() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

const char* StrError(int code) { return ErrorName(code); }

// ---- Registration -------------------------------------------------------------------

int AddCommand(Module* m, const CommandRegistration& registration) {
  if (!m->in_init()) {
    return DBP_E_STATE;
  }
  for (const auto& c : m->commands()) {
    if (c.cmd_id == registration.cmd_id) {
      return DBP_E_CONFLICT;
    }
  }
  m->AddCommand(registration);
  return DBP_OK;
}

int RegisterCommand(dbp_plugin_t* p, uint16_t cmd_id, uint32_t flags, dbp_handler_fn fn,
                    dbp_order_key_fn order_key, void* user) {
  if (fn == nullptr) {
    return M(p)->in_init() ? DBP_E_INVALID : DBP_E_STATE;
  }
  return AddCommand(M(p), CommandRegistration{cmd_id, flags, fn, order_key, user});
}

int RegisterBatchCommand(dbp_plugin_t* p, uint16_t cmd_id, uint32_t flags, dbp_batch_handler_fn fn,
                         dbp_order_key_fn order_key, uint32_t max_batch, uint32_t max_running,
                         void* user) {
  if (fn == nullptr || max_batch == 0) {
    return M(p)->in_init() ? DBP_E_INVALID : DBP_E_STATE;
  }
  CommandRegistration registration{cmd_id, flags, nullptr, order_key, user};
  registration.batch_fn = fn;
  registration.max_batch = max_batch;
  registration.max_running = max_running;
  return AddCommand(M(p), registration);
}

int Subscribe(dbp_plugin_t* p, const char* event, dbp_event_fn fn, void* user) {
  Module* m = M(p);
  if (!m->in_init()) {
    return DBP_E_STATE;
  }
  if (event == nullptr || fn == nullptr) {
    return DBP_E_INVALID;
  }
  m->AddSubscription(Subscription{event, fn, user});
  return DBP_OK;
}

int AddTimer(dbp_plugin_t* p, uint32_t interval_ms, dbp_timer_fn fn, void* user) {
  Module* m = M(p);
  if (!m->in_init()) {
    return DBP_E_STATE;
  }
  if (interval_ms == 0 || fn == nullptr) {
    return DBP_E_INVALID;
  }
  m->AddTimer(TimerRegistration{interval_ms, fn, user, std::make_shared<std::atomic<bool>>(false)});
  return DBP_OK;
}

int ConfigInt(dbp_plugin_t* p, const char* key, int64_t def, int64_t* out) {
  Module* m = M(p);
  if (!m->in_init()) {
    return DBP_E_STATE;
  }
  YAML::Node n = m->ConfigKey(key);
  *out = def;
  if (!n.IsDefined() || n.IsNull()) {
    return DBP_OK;
  }
  try {
    if (!n.IsScalar()) {
      return DBP_E_CONFIG;
    }
    *out = n.as<int64_t>();
    return DBP_OK;
  } catch (const YAML::Exception&) {
    return DBP_E_CONFIG;
  }
}

int ConfigBool(dbp_plugin_t* p, const char* key, int def, int* out) {
  Module* m = M(p);
  if (!m->in_init()) {
    return DBP_E_STATE;
  }
  YAML::Node n = m->ConfigKey(key);
  *out = def;
  if (!n.IsDefined() || n.IsNull()) {
    return DBP_OK;
  }
  try {
    if (!n.IsScalar()) {
      return DBP_E_CONFIG;
    }
    *out = n.as<bool>() ? 1 : 0;
    return DBP_OK;
  } catch (const YAML::Exception&) {
    return DBP_E_CONFIG;
  }
}

int ConfigString(dbp_plugin_t* p, const char* key, const char* def, const char** out) {
  Module* m = M(p);
  if (!m->in_init()) {
    return DBP_E_STATE;
  }
  YAML::Node n = m->ConfigKey(key);
  if (!n.IsDefined() || n.IsNull()) {
    *out = def == nullptr ? nullptr : m->KeepString(def);
    return DBP_OK;
  }
  if (!n.IsScalar()) {
    return DBP_E_CONFIG;
  }
  *out = m->KeepString(n.Scalar());
  return DBP_OK;
}

int SetError(dbp_plugin_t* p, const char* msg) {
  M(p)->SetError(msg == nullptr ? "" : msg);
  return DBP_OK;
}

// ---- Logging and counters -------------------------------------------------------------

int Log(dbp_plugin_t* p, int level, const char* msg) {
  spdlog::level::level_enum lvl = spdlog::level::info;
  switch (level) {
    case DBP_LOG_DEBUG:
      lvl = spdlog::level::debug;
      break;
    case DBP_LOG_INFO:
      lvl = spdlog::level::info;
      break;
    case DBP_LOG_WARN:
      lvl = spdlog::level::warn;
      break;
    default:
      lvl = spdlog::level::err;
      break;
  }
  M(p)->logger().log(lvl, "{}", msg == nullptr ? "" : msg);
  return DBP_OK;
}

int CounterAdd(dbp_plugin_t* p, const char* name, int64_t delta) {
  Module* m = M(p);
  m->services()->metrics->AddPluginCounter(m->name(), name == nullptr ? "" : name, delta);
  return DBP_OK;
}

// ---- Requests -------------------------------------------------------------------------

int RequestBody(dbp_request_t* req, const uint8_t** body, size_t* len) {
  RequestContext* r = R(req);
  *body = reinterpret_cast<const uint8_t*>(r->body.data());
  *len = r->body.size();
  return DBP_OK;
}
uint16_t RequestCommand(dbp_request_t* req) { return R(req)->header.command_id; }
uint16_t RequestSeq(dbp_request_t* req) { return R(req)->header.seq; }
uint64_t RequestConnection(dbp_request_t* req) { return R(req)->conn_id; }

int Reply(dbp_request_t* req, uint16_t service_id, uint16_t cmd_id, const void* body, size_t len) {
  RequestContext* r = R(req);
  if (r->replied) {
    return DBP_E_STATE;
  }
  HostServices* services = r->entry->module->services();
  if (len + net::kFrameHeaderBytes > services->max_frame_bytes) {
    return DBP_E_INVALID;
  }
  r->replied = true;
  if (r->call_reply != nullptr) {
    r->call_reply(cmd_id, static_cast<const uint8_t*>(body), len, r->call_user);
    return DBP_OK;
  }
  std::string frame;
  frame.reserve(net::kFrameHeaderBytes + len);
  net::AppendFrame(service_id, cmd_id, r->header.seq,
                   std::string_view(static_cast<const char*>(body), len), &frame);
  services->send_frame(r->conn_id, std::move(frame));
  return DBP_OK;
}

// ---- Events and in-process calls -------------------------------------------------------

// The generation a worker is running; outside of one (should not happen for plugin code)
// the caller's own module is all we know, so nothing is delivered.
const Generation* CurrentGeneration() {
  const std::shared_ptr<const Generation>* g = Generation::Current();
  return g == nullptr ? nullptr : g->get();
}

int Publish(dbp_plugin_t*, const char* event, const void* data, size_t len) {
  const Generation* gen = CurrentGeneration();
  if (gen == nullptr || event == nullptr) {
    return 0;
  }
  int delivered = 0;
  for (const SubscriberEntry& s : gen->Subscribers(event)) {
    s.module->in_flight().fetch_add(1, std::memory_order_relaxed);
    s.sub->fn(event, data, len, s.sub->user);
    s.module->in_flight().fetch_sub(1, std::memory_order_relaxed);
    ++delivered;
  }
  return delivered;
}

int Call(dbp_plugin_t*, uint16_t cmd_id, const void* body, size_t len, dbp_call_reply_fn on_reply,
         void* user) {
  const std::shared_ptr<const Generation>* gen = Generation::Current();
  if (gen == nullptr) {
    return DBP_E_STATE;
  }
  const CommandEntry* entry = (*gen)->Find(cmd_id);
  if (entry == nullptr) {
    return DBP_E_NOT_FOUND;
  }
  RequestContext ctx;
  ctx.header.command_id = cmd_id;
  ctx.body.assign(static_cast<const char*>(body), len);
  ctx.generation = *gen;
  ctx.entry = entry;
  ctx.call_reply = on_reply;
  ctx.call_user = user;
  RunHandler(ctx);
  return ctx.replied ? DBP_OK : DBP_E_STATE;
}

// ---- MySQL ----------------------------------------------------------------------------

int MysqlAcquire(dbp_plugin_t* p, const char* pool, dbp_mysql_t** out) {
  const HostServices* services = M(p)->services();
  const std::string name = pool == nullptr ? "" : pool;
  if (services->replica_reads != nullptr) {
    // A replica read consistent with this daemon's writes: the lease may be the primary's.
    auto replica = services->replica_reads->find(name);
    if (replica != services->replica_reads->end()) {
      Result<storage::ReplicaReads::Lease> lease = replica->second->Acquire();
      if (!lease.ok()) {
        return lease.status().code();
      }
      *out = new dbp_mysql{lease->pool, lease->conn, {}};
      return DBP_OK;
    }
  }
  auto& pools = *services->mysql;
  auto it = pools.find(name);
  if (it == pools.end()) {
    return DBP_E_NOT_FOUND;
  }
  Result<storage::MysqlConnection*> conn = it->second->Acquire();
  if (!conn.ok()) {
    return conn.status().code();
  }
  *out = new dbp_mysql{it->second.get(), *conn, {}};
  return DBP_OK;
}

int MysqlRelease(dbp_mysql_t* c) {
  c->pool->Release(c->conn);
  delete c;
  return DBP_OK;
}

int Remember(dbp_mysql_t* c, const Status& s) {
  c->error = s.ok() ? "" : s.message();
  return s.code();
}

int MysqlExecute(dbp_mysql_t* c, const char* sql, size_t sql_len, const dbp_value_t* params,
                 size_t nparams, dbp_mysql_result_t** out) {
  std::unique_ptr<MysqlResultSet> result;
  Status s = c->conn->Execute(std::string_view(sql, sql_len), params, nparams, &result);
  if (out != nullptr) {
    *out = s.ok() ? reinterpret_cast<dbp_mysql_result_t*>(result.release()) : nullptr;
  }
  return Remember(c, s);
}

int MysqlBegin(dbp_mysql_t* c) { return Remember(c, c->conn->Begin()); }
int MysqlCommit(dbp_mysql_t* c) { return Remember(c, c->conn->Commit()); }
int MysqlRollback(dbp_mysql_t* c) { return Remember(c, c->conn->Rollback()); }
const char* MysqlError(dbp_mysql_t* c) { return c->error.c_str(); }
unsigned MysqlErrno(dbp_mysql_t* c) { return c->conn->last_errno(); }

size_t ResultRows(const dbp_mysql_result_t* r) { return Res(r)->rows(); }
size_t ResultColumns(const dbp_mysql_result_t* r) { return Res(r)->columns(); }
uint64_t ResultAffected(const dbp_mysql_result_t* r) { return Res(r)->affected(); }
uint64_t ResultInsertId(const dbp_mysql_result_t* r) { return Res(r)->insert_id(); }
int ResultCell(const dbp_mysql_result_t* r, size_t row, size_t col, const char** data,
               size_t* len) {
  *data = nullptr;
  *len = 0;
  if (r == nullptr || row >= Res(r)->rows() || col >= Res(r)->columns()) {
    return DBP_E_INVALID;
  }
  return Res(r)->Cell(row, col, data, len) ? 1 : 0;
}
void ResultFree(dbp_mysql_result_t* r) { delete reinterpret_cast<MysqlResultSet*>(r); }

// ---- Redis ----------------------------------------------------------------------------

storage::RedisPool* FindRedis(dbp_plugin_t* p, const char* instance) {
  auto& pools = *M(p)->services()->redis;
  auto it = pools.find(instance == nullptr ? "" : instance);
  return it == pools.end() ? nullptr : it->second.get();
}

int RedisCommand(dbp_plugin_t* p, const char* instance, int argc, const char* const* argv,
                 const size_t* argvlen, dbp_redis_reply_t** out) {
  storage::RedisPool* pool = FindRedis(p, instance);
  if (pool == nullptr) {
    return DBP_E_NOT_FOUND;
  }
  if (argc <= 0) {
    return DBP_E_INVALID;
  }
  Result<storage::RedisReplyPtr> reply = pool->Command(argc, argv, argvlen);
  if (!reply.ok()) {
    return reply.status().code();
  }
  if (out != nullptr) {
    *out = reinterpret_cast<dbp_redis_reply_t*>(reply->release());
  }
  return DBP_OK;
}

dbp_redis_pipeline_t* PipelineBegin(dbp_plugin_t* p, const char* instance) {
  storage::RedisPool* pool = FindRedis(p, instance);
  if (pool == nullptr) {
    return nullptr;
  }
  return new dbp_redis_pipeline{pool, {}};
}

int PipelineAppend(dbp_redis_pipeline_t* pl, int argc, const char* const* argv,
                   const size_t* argvlen) {
  if (argc <= 0) {
    return DBP_E_INVALID;
  }
  std::vector<std::string> cmd;
  cmd.reserve(static_cast<size_t>(argc));
  for (int i = 0; i < argc; ++i) {
    cmd.emplace_back(argv[i], argvlen[i]);
  }
  pl->commands.push_back(std::move(cmd));
  return DBP_OK;
}

int PipelineExec(dbp_redis_pipeline_t* pl, dbp_redis_reply_t** out) {
  std::unique_ptr<dbp_redis_pipeline> owned(pl);
  Result<storage::RedisReplyPtr> reply = owned->pool->Pipeline(owned->commands);
  if (!reply.ok()) {
    return reply.status().code();
  }
  if (out != nullptr) {
    *out = reinterpret_cast<dbp_redis_reply_t*>(reply->release());
  }
  return DBP_OK;
}

void PipelineFree(dbp_redis_pipeline_t* pl) { delete pl; }

int ReplyType(const dbp_redis_reply_t* r) { return Rep(r)->type; }
long long ReplyInteger(const dbp_redis_reply_t* r) { return Rep(r)->integer; }
int ReplyString(const dbp_redis_reply_t* r, const char** data, size_t* len) {
  const RedisReply* rep = Rep(r);
  if (rep->type != DBP_REDIS_STRING && rep->type != DBP_REDIS_STATUS &&
      rep->type != DBP_REDIS_ERROR) {
    return 0;
  }
  *data = rep->str.data();
  *len = rep->str.size();
  return 1;
}
size_t ReplyElements(const dbp_redis_reply_t* r) { return Rep(r)->elements.size(); }
const dbp_redis_reply_t* ReplyElement(const dbp_redis_reply_t* r, size_t i) {
  const RedisReply* rep = Rep(r);
  if (i >= rep->elements.size()) {
    return nullptr;
  }
  return reinterpret_cast<const dbp_redis_reply_t*>(rep->elements[i].get());
}
void ReplyFree(dbp_redis_reply_t* r) { delete reinterpret_cast<RedisReply*>(r); }

dbp_host_api_t MakeApi() {
  dbp_host_api_t a{};
  a.struct_size = sizeof(dbp_host_api_t);
  a.abi_major = DBP_ABI_MAJOR;
  a.abi_minor = DBP_ABI_MINOR;
  a.strerror = &StrError;
  a.register_command = &RegisterCommand;
  a.subscribe = &Subscribe;
  a.add_timer = &AddTimer;
  a.config_int = &ConfigInt;
  a.config_bool = &ConfigBool;
  a.config_string = &ConfigString;
  a.set_error = &SetError;
  a.log = &Log;
  a.counter_add = &CounterAdd;
  a.request_body = &RequestBody;
  a.request_command = &RequestCommand;
  a.request_seq = &RequestSeq;
  a.request_connection = &RequestConnection;
  a.reply = &Reply;
  a.publish = &Publish;
  a.call = &Call;
  a.mysql_acquire = &MysqlAcquire;
  a.mysql_release = &MysqlRelease;
  a.mysql_execute = &MysqlExecute;
  a.mysql_begin = &MysqlBegin;
  a.mysql_commit = &MysqlCommit;
  a.mysql_rollback = &MysqlRollback;
  a.mysql_error = &MysqlError;
  a.mysql_errno = &MysqlErrno;
  a.mysql_result_rows = &ResultRows;
  a.mysql_result_columns = &ResultColumns;
  a.mysql_result_affected = &ResultAffected;
  a.mysql_result_insert_id = &ResultInsertId;
  a.mysql_result_cell = &ResultCell;
  a.mysql_result_free = &ResultFree;
  a.redis_command = &RedisCommand;
  a.redis_pipeline_begin = &PipelineBegin;
  a.redis_pipeline_append = &PipelineAppend;
  a.redis_pipeline_exec = &PipelineExec;
  a.redis_pipeline_free = &PipelineFree;
  a.redis_reply_type = &ReplyType;
  a.redis_reply_integer = &ReplyInteger;
  a.redis_reply_string = &ReplyString;
  a.redis_reply_elements = &ReplyElements;
  a.redis_reply_element = &ReplyElement;
  a.redis_reply_free = &ReplyFree;
  a.register_batch_command = &RegisterBatchCommand;
  return a;
}

}  // namespace

const dbp_host_api_t* HostApi() {
  static const dbp_host_api_t kApi = MakeApi();
  return &kApi;
}

void RunHandler(RequestContext& ctx) {
  RequestContext* one = &ctx;
  RunBatch(&one, 1);
}

void RunBatch(RequestContext* const* ctxs, size_t count) {
  const CommandEntry* entry = ctxs[0]->entry;
  Module* m = entry->module;
  // Every request of a batch has the same entry, hence the same generation.
  Generation::RunScope scope(&ctxs[0]->generation);
  m->in_flight().fetch_add(1, std::memory_order_relaxed);
  uint64_t start = NowMicros();
  if (entry->reg.batch_fn != nullptr) {
    entry->reg.batch_fn(reinterpret_cast<dbp_request_t* const*>(ctxs), count, entry->reg.user);
  } else {
    entry->reg.fn(reinterpret_cast<dbp_request_t*>(ctxs[0]), entry->reg.user);
  }
  uint64_t elapsed = NowMicros() - start;
  m->in_flight().fetch_sub(1, std::memory_order_relaxed);
  admin::CommandStats* stats = entry->stats;
  const bool wants_reply = (entry->reg.flags & DBP_CMD_NO_REPLY) == 0;
  for (size_t i = 0; i < count; ++i) {
    const RequestContext& ctx = *ctxs[i];
    stats->requests.fetch_add(1, std::memory_order_relaxed);
    stats->latency.Observe(elapsed);
    if (wants_reply != ctx.replied) {
      stats->errors.fetch_add(1, std::memory_order_relaxed);
      m->logger().warn("cmd=0x{:04x} seq={} conn={}: handler {}", ctx.header.command_id,
                       ctx.header.seq, ctx.conn_id,
                       wants_reply ? "returned without replying" : "replied to a no-reply command");
    }
  }
}

}  // namespace dbproxy::plugin
