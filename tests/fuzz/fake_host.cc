#include "tests/fuzz/fake_host.h"

#include <dlfcn.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <string_view>

// The opaque handles of abi.h, as this fake host defines them.
struct dbp_plugin {
  std::string name;
  bool in_init = false;
};

struct dbp_request {
  uint16_t cmd_id = 0;
  uint16_t seq = 0;
  std::string body;
  size_t replies = 0;
  dbp_call_reply_fn on_reply = nullptr;  // set for in-process calls
  void* reply_user = nullptr;
};

struct dbp_mysql {
  int unused = 0;
};

struct dbp_mysql_result {
  int unused = 0;
};

struct dbp_redis_reply {
  int type = DBP_REDIS_NIL;
  long long integer = 0;
  std::vector<dbp_redis_reply> elements;
};

struct dbp_redis_pipeline {
  std::vector<dbp_redis_reply> replies;
};

namespace dbproxy::fuzz {
namespace {

// A registered command and how often it was reached. A deque: Command addresses stay put.
struct Entry {
  Command command;
  uint64_t dispatched = 0;
  uint64_t called = 0;
};

struct Subscription {
  std::string module;
  std::string event;
  dbp_event_fn fn = nullptr;
  void* user = nullptr;
};

struct Timer {
  std::string module;
  dbp_timer_fn fn = nullptr;
  void* user = nullptr;
};

// One loaded module, owned here until UnloadPlugins().
struct Loaded {
  void* handle = nullptr;
  const dbp_plugin_descriptor_t* descriptor = nullptr;
  std::unique_ptr<dbp_plugin> plugin;
  void* state = nullptr;
};

// Heap-allocated and never destroyed: the atexit unload runs after static destructors of
// objects created before it was registered, and must still find these.
std::deque<Entry>& Registry() {
  static auto* entries = new std::deque<Entry>;
  return *entries;
}
std::vector<Subscription>& Subscriptions() {
  static auto* subs = new std::vector<Subscription>;
  return *subs;
}
std::vector<Timer>& Timers() {
  static auto* timers = new std::vector<Timer>;
  return *timers;
}
std::vector<Loaded>& LoadedModules() {
  static auto* loaded = new std::vector<Loaded>;
  return *loaded;
}
std::vector<Command>& CommandList() {
  static auto* list = new std::vector<Command>;
  return *list;
}
uint64_t published_events = 0;

void AddCommand(const Command& c) {
  Registry().push_back(Entry{c});
  CommandList().push_back(c);
}

void Die(const std::string& why) {
  std::fprintf(stderr, "fake host: %s\n", why.c_str());
  std::abort();
}

// Redis commands whose answer is a number the plugins go on with.
dbp_redis_reply FakeRedisAnswer(int argc, const char* const* argv, const size_t* argvlen) {
  dbp_redis_reply r;
  if (argc < 1) {
    return r;
  }
  std::string name(argv[0], argvlen != nullptr ? argvlen[0] : std::strlen(argv[0]));
  for (char& ch : name) {
    ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  }
  static const char* const kCounting[] = {"INCR", "INCRBY", "HINCRBY", "DECR",  "DECRBY",
                                          "DEL",  "EXPIRE", "HSET",    "HDEL",  "SADD",
                                          "SREM", "EXISTS", "HLEN",    "SETNX", "PEXPIRE"};
  for (const char* c : kCounting) {
    if (name == c) {
      r.type = DBP_REDIS_INTEGER;
      r.integer = 1;
      return r;
    }
  }
  if (name == "SET" || name == "HMSET" || name == "SETEX" || name == "MULTI" || name == "PING") {
    r.type = DBP_REDIS_STATUS;
  }
  return r;
}

const char* kOkText = "OK";

const dbp_host_api_t kApi = [] {
  dbp_host_api_t a{};
  a.struct_size = sizeof(dbp_host_api_t);
  a.abi_major = DBP_ABI_MAJOR;
  a.abi_minor = DBP_ABI_MINOR;
  a.strerror = [](int) -> const char* { return "fake host error"; };
  a.register_command = [](dbp_plugin_t* p, uint16_t cmd_id, uint32_t flags, dbp_handler_fn fn,
                          dbp_order_key_fn, void* user) -> int {
    if (!p->in_init) {
      return DBP_E_STATE;
    }
    Command c;
    c.module = p->name;
    c.cmd_id = cmd_id;
    c.flags = flags;
    c.fn = fn;
    c.user = user;
    AddCommand(c);
    return DBP_OK;
  };
  a.register_batch_command = [](dbp_plugin_t* p, uint16_t cmd_id, uint32_t flags,
                                dbp_batch_handler_fn fn, dbp_order_key_fn, uint32_t max_batch,
                                uint32_t, void* user) -> int {
    if (!p->in_init) {
      return DBP_E_STATE;
    }
    Command c;
    c.module = p->name;
    c.cmd_id = cmd_id;
    c.flags = flags;
    c.batch_fn = fn;
    c.max_batch = max_batch == 0 ? 1 : max_batch;
    c.user = user;
    AddCommand(c);
    return DBP_OK;
  };
  a.subscribe = [](dbp_plugin_t* p, const char* event, dbp_event_fn fn, void* user) -> int {
    if (!p->in_init) {
      return DBP_E_STATE;
    }
    Subscriptions().push_back(Subscription{p->name, event, fn, user});
    return DBP_OK;
  };
  a.add_timer = [](dbp_plugin_t* p, uint32_t interval_ms, dbp_timer_fn fn, void* user) -> int {
    if (!p->in_init) {
      return DBP_E_STATE;
    }
    if (interval_ms == 0) {
      return DBP_E_INVALID;
    }
    Timers().push_back(Timer{p->name, fn, user});
    return DBP_OK;
  };
  a.config_int = [](dbp_plugin_t*, const char*, int64_t def, int64_t* out) -> int {
    *out = def;
    return DBP_OK;
  };
  a.config_bool = [](dbp_plugin_t*, const char*, int def, int* out) -> int {
    *out = def;
    return DBP_OK;
  };
  a.config_string = [](dbp_plugin_t*, const char*, const char* def, const char** out) -> int {
    *out = def;
    return DBP_OK;
  };
  a.set_error = [](dbp_plugin_t* p, const char* msg) -> int {
    std::fprintf(stderr, "fake host: %s: %s\n", p->name.c_str(), msg);
    return DBP_OK;
  };
  a.log = [](dbp_plugin_t*, int, const char*) -> int { return DBP_OK; };
  a.counter_add = [](dbp_plugin_t*, const char*, int64_t) -> int { return DBP_OK; };
  a.request_body = [](dbp_request_t* req, const uint8_t** body, size_t* len) -> int {
    *body = reinterpret_cast<const uint8_t*>(req->body.data());
    *len = req->body.size();
    return DBP_OK;
  };
  a.request_command = [](dbp_request_t* req) -> uint16_t { return req->cmd_id; };
  a.request_seq = [](dbp_request_t* req) -> uint16_t { return req->seq; };
  a.request_connection = [](dbp_request_t* req) -> uint64_t {
    return req->on_reply != nullptr ? 0 : 1;
  };
  a.reply = [](dbp_request_t* req, uint16_t, uint16_t cmd_id, const void* body, size_t len) -> int {
    if (++req->replies > 1) {  // counted even when refused: Dispatch() reports it
      return DBP_E_STATE;
    }
    if (req->on_reply != nullptr) {
      req->on_reply(cmd_id, static_cast<const uint8_t*>(body), len, req->reply_user);
    }
    return DBP_OK;
  };
  a.publish = [](dbp_plugin_t*, const char* event, const void* data, size_t len) -> int {
    return Publish(event, std::string(static_cast<const char*>(data), len));
  };
  // In-process calls reach the real handler of the other module, as in the daemon: a batch
  // command runs with one request, and a handler that does not reply is DBP_E_STATE.
  a.call = [](dbp_plugin_t*, uint16_t cmd_id, const void* body, size_t len,
              dbp_call_reply_fn on_reply, void* user) -> int {
    for (Entry& e : Registry()) {
      const Command& c = e.command;
      if (c.cmd_id != cmd_id) {
        continue;
      }
      ++e.called;
      dbp_request req;
      req.cmd_id = cmd_id;
      req.body.assign(static_cast<const char*>(body), len);
      req.on_reply = on_reply;
      req.reply_user = user;
      if (c.batch_fn != nullptr) {
        dbp_request_t* one = &req;
        c.batch_fn(&one, 1, c.user);
      } else {
        c.fn(&req, c.user);
      }
      return req.replies > 0 ? DBP_OK : DBP_E_STATE;
    }
    return DBP_E_NOT_FOUND;
  };
  a.mysql_acquire = [](dbp_plugin_t*, const char*, dbp_mysql_t** out) -> int {
    *out = new dbp_mysql;
    return DBP_OK;
  };
  a.mysql_release = [](dbp_mysql_t* conn) -> int {
    delete conn;
    return DBP_OK;
  };
  a.mysql_execute = [](dbp_mysql_t*, const char*, size_t, const dbp_value_t*, size_t,
                       dbp_mysql_result_t** out) -> int {
    if (out != nullptr) {
      *out = new dbp_mysql_result;
    }
    return DBP_OK;
  };
  a.mysql_begin = [](dbp_mysql_t*) -> int { return DBP_OK; };
  a.mysql_commit = [](dbp_mysql_t*) -> int { return DBP_OK; };
  a.mysql_rollback = [](dbp_mysql_t*) -> int { return DBP_OK; };
  a.mysql_error = [](dbp_mysql_t*) -> const char* { return kOkText; };
  a.mysql_errno = [](dbp_mysql_t*) -> unsigned { return 0; };
  a.mysql_result_rows = [](const dbp_mysql_result_t*) -> size_t { return 0; };
  a.mysql_result_columns = [](const dbp_mysql_result_t*) -> size_t { return 0; };
  a.mysql_result_affected = [](const dbp_mysql_result_t*) -> uint64_t { return 0; };
  a.mysql_result_insert_id = [](const dbp_mysql_result_t*) -> uint64_t { return 1; };
  a.mysql_result_cell = [](const dbp_mysql_result_t*, size_t, size_t, const char** data,
                           size_t* len) -> int {
    *data = nullptr;  // no rows: a plugin asking for a cell has a bug; NULL is the safe answer
    *len = 0;
    return 0;
  };
  a.mysql_result_free = [](dbp_mysql_result_t* r) { delete r; };
  a.redis_command = [](dbp_plugin_t*, const char*, int argc, const char* const* argv,
                       const size_t* argvlen, dbp_redis_reply_t** out) -> int {
    *out = new dbp_redis_reply(FakeRedisAnswer(argc, argv, argvlen));
    return DBP_OK;
  };
  a.redis_pipeline_begin = [](dbp_plugin_t*, const char*) -> dbp_redis_pipeline_t* {
    return new dbp_redis_pipeline;
  };
  a.redis_pipeline_append = [](dbp_redis_pipeline_t* pl, int argc, const char* const* argv,
                               const size_t* argvlen) -> int {
    pl->replies.push_back(FakeRedisAnswer(argc, argv, argvlen));
    return DBP_OK;
  };
  a.redis_pipeline_exec = [](dbp_redis_pipeline_t* pl, dbp_redis_reply_t** out) -> int {
    auto* r = new dbp_redis_reply;
    r->type = DBP_REDIS_ARRAY;
    r->elements = std::move(pl->replies);
    delete pl;
    *out = r;
    return DBP_OK;
  };
  a.redis_pipeline_free = [](dbp_redis_pipeline_t* pl) { delete pl; };
  a.redis_reply_type = [](const dbp_redis_reply_t* r) -> int { return r->type; };
  a.redis_reply_integer = [](const dbp_redis_reply_t* r) -> long long { return r->integer; };
  a.redis_reply_string = [](const dbp_redis_reply_t* r, const char** data, size_t* len) -> int {
    if (r->type != DBP_REDIS_STATUS) {
      return 0;
    }
    *data = kOkText;
    *len = 2;
    return 1;
  };
  a.redis_reply_elements = [](const dbp_redis_reply_t* r) -> size_t { return r->elements.size(); };
  a.redis_reply_element = [](const dbp_redis_reply_t* r, size_t i) -> const dbp_redis_reply_t* {
    return i < r->elements.size() ? &r->elements[i] : nullptr;
  };
  a.redis_reply_free = [](dbp_redis_reply_t* r) { delete r; };
  return a;
}();

}  // namespace

void LoadPlugins(const std::string& dir, const std::vector<std::string>& modules) {
  for (const std::string& name : modules) {
    const std::string path = dir + "/" + name + ".so";
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      Die("dlopen " + path + ": " + dlerror());
    }
    auto entry = reinterpret_cast<dbp_plugin_entry_fn>(dlsym(handle, DBP_PLUGIN_ENTRY_SYMBOL));
    if (entry == nullptr) {
      Die(path + ": no dbp_plugin_entry");
    }
    Loaded m;
    m.handle = handle;
    m.descriptor = entry();
    m.plugin = std::make_unique<dbp_plugin>();
    m.plugin->name = name;
    m.plugin->in_init = true;
    if (m.descriptor->init(&kApi, m.plugin.get(), &m.state) != DBP_OK) {
      Die(name + ": init failed");
    }
    m.plugin->in_init = false;
    LoadedModules().push_back(std::move(m));
  }
}

void UnloadPlugins() {
  auto& loaded = LoadedModules();
  while (!loaded.empty()) {
    Loaded m = std::move(loaded.back());
    loaded.pop_back();
    if (m.descriptor->shutdown != nullptr) {
      m.descriptor->shutdown(m.state);
    }
    // Registrations point into the module's memory: drop them before it is unmapped.
    const std::string& name = m.plugin->name;
    std::erase_if(Registry(), [&](const Entry& e) { return e.command.module == name; });
    std::erase_if(CommandList(), [&](const Command& c) { return c.module == name; });
    std::erase_if(Subscriptions(), [&](const Subscription& s) { return s.module == name; });
    std::erase_if(Timers(), [&](const Timer& t) { return t.module == name; });
    if (dlclose(m.handle) != 0) {
      Die("dlclose " + name + ": " + dlerror());
    }
  }
}

int Publish(const std::string& event, const std::string& data) {
  int called = 0;
  // By index: a subscriber may publish in turn (the vector does not change meanwhile).
  const auto& subs = Subscriptions();
  for (size_t i = 0; i < subs.size(); ++i) {
    if (subs[i].event == event) {
      subs[i].fn(event.c_str(), data.data(), data.size(), subs[i].user);
      ++called;
    }
  }
  if (called > 0) {
    ++published_events;
  }
  return called;
}

void RunTimers() {
  for (const Timer& t : Timers()) {
    t.fn(t.user);
  }
}

std::vector<Reached> ReachedCommands() {
  std::vector<Reached> out;
  for (const Entry& e : Registry()) {
    out.push_back(Reached{&e.command, e.dispatched, e.called});
  }
  return out;
}

uint64_t PublishedEvents() { return published_events; }

const std::vector<Command>& Commands() { return CommandList(); }

size_t Dispatch(const Command& c, const std::vector<std::string>& bodies) {
  for (Entry& e : Registry()) {
    if (e.command.cmd_id == c.cmd_id) {
      e.dispatched += bodies.size();
      break;
    }
  }
  std::vector<std::unique_ptr<dbp_request>> reqs;
  for (const std::string& b : bodies) {
    auto r = std::make_unique<dbp_request>();
    r->cmd_id = c.cmd_id;
    r->seq = 1;
    r->body = b;
    reqs.push_back(std::move(r));
  }
  if (c.batch_fn != nullptr) {
    std::vector<dbp_request_t*> raw;
    for (auto& r : reqs) {
      raw.push_back(r.get());
    }
    c.batch_fn(raw.data(), raw.size(), c.user);
  } else {
    for (auto& r : reqs) {
      c.fn(r.get(), c.user);
    }
  }
  size_t replies = 0;
  for (auto& r : reqs) {
    if (r->replies > 1) {
      char id[8];
      std::snprintf(id, sizeof(id), "0x%04x", c.cmd_id);
      Die(std::string("command ") + id + " replied twice to one request");
    }
    replies += r->replies;
  }
  return replies;
}

}  // namespace dbproxy::fuzz
