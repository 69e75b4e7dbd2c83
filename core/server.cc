#include "core/server.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <vector>

#include "core/admin/admin_server.h"
#include "core/base/log.h"
#include "core/config/yaml_loader.h"
#include "core/loop/uv_owner.h"
#include "core/net/frame_codec.h"
#include "core/plugin/host_api.h"
#include "core/plugin/request_context.h"
#include "core/storage/mysql_pool.h"
#include "core/storage/redis_pool.h"
#include "core/storage/replica_reads.h"

namespace dbproxy {
namespace {

constexpr uint16_t kServiceOther = 0x0007;
constexpr uint16_t kCmdHeartbeat = 0x0701;
constexpr uint16_t kCmdStopRecvPacket = 0x0702;
constexpr uint64_t kSweepIntervalMs = 1000;
constexpr uint32_t kUnknownLogsPerMinute = 10;
constexpr uint32_t kRefusedLogsPerMinute = 10;

uint64_t NowMicros() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

std::string JsonEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out;
}

// Read-your-writes on replica pools: where reads went, why they fell back, what waiting cost.
// Each family's samples stay together (all pools), as the text format requires.
void AppendReplicaMetrics(
    const std::map<std::string, std::unique_ptr<storage::ReplicaReads>>& replicas,
    std::string* out) {
  if (replicas.empty()) {
    return;
  }
  using Stats = storage::ReplicaReads::Stats;
  struct Series {
    const char* sample;  // the series name; the family's name when nullptr
    const char* labels;  // after pool="...": "" or ",key=\"value\""
    double (*value)(const Stats&);
  };
  auto family = [&](const char* name, const char* help, const char* type,
                    std::initializer_list<Series> series) {
    *out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
    char value[32];
    for (const auto& [pool, reads] : replicas) {
      const Stats s = reads->stats();
      for (const Series& one : series) {
        snprintf(value, sizeof(value), "%.17g", one.value(s));
        *out += std::string(one.sample != nullptr ? one.sample : name) + "{pool=\"" + pool + "\"" +
                one.labels + "} " + value + "\n";
      }
    }
  };
  family("dbproxy_replica_reads_total",
         "Reads of a read_your_writes pool, by the server that served them.", "counter",
         {{nullptr, ",served_by=\"replica\"",
           [](const Stats& s) { return static_cast<double>(s.replica_reads); }},
          {nullptr, ",served_by=\"primary\"",
           [](const Stats& s) { return static_cast<double>(s.primary_reads); }}});
  family("dbproxy_replica_fallbacks_total", "Reads sent to the primary instead, by reason.",
         "counter",
         {{nullptr, ",reason=\"lagging\"",
           [](const Stats& s) { return static_cast<double>(s.fallback_lagging); }},
          {nullptr, ",reason=\"down\"",
           [](const Stats& s) { return static_cast<double>(s.fallback_down); }},
          {nullptr, ",reason=\"untracked\"",
           [](const Stats& s) { return static_cast<double>(s.fallback_untracked); }}});
  family("dbproxy_replica_gtid_waits_skipped_total",
         "Reads that needed no wait: the replica was already seen at the position.", "counter",
         {{nullptr, "", [](const Stats& s) { return static_cast<double>(s.waits_skipped); }}});
  family("dbproxy_replica_gtid_wait_seconds", "MASTER_GTID_WAIT round trips and their total time.",
         "summary",
         {{"dbproxy_replica_gtid_wait_seconds_sum", "",
           [](const Stats& s) { return static_cast<double>(s.wait_micros) / 1e6; }},
          {"dbproxy_replica_gtid_wait_seconds_count", "",
           [](const Stats& s) { return static_cast<double>(s.waits); }}});
}

// IMStopReceivePacket{result = 0}: field 1, varint, value 0.
const std::string kStopReceiveBody("\x08\x00", 2);
// SIGTERM: how long a connection must stay quiet after the 0x0702 notice before it counts as
// drained (see CheckDrained). Covers the peer's reaction time to the notice, not the network:
// msg_server reads the notice only when its event loop gets to that connection.
constexpr uint64_t kStopQuietMs = 250;

// Every connection is a descriptor; pools, listeners, the admin socket and plugins need
// some more. Raises the soft open-file limit towards that, as far as the hard limit allows,
// and warns when it stays short: past it accept() fails with EMFILE and peers are dropped.
void EnsureFileLimit(const config::Config& config) {
  rlim_t needed = config.server.max_connections + 64;
  for (const auto& [name, pool] : config.mysql) {
    needed += pool.pool_size;
  }
  for (const auto& [name, pool] : config.redis) {
    needed += pool.pool_size;
  }
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= needed) {
    return;
  }
  rlim_t was = limit.rlim_cur;
  limit.rlim_cur = limit.rlim_max == RLIM_INFINITY ? needed : std::min(needed, limit.rlim_max);
  if (limit.rlim_cur > was && setrlimit(RLIMIT_NOFILE, &limit) == 0) {
    log::Get("server")->info("open file limit raised from {} to {}", was, limit.rlim_cur);
  } else {
    limit.rlim_cur = was;
  }
  if (limit.rlim_cur < needed) {
    log::Get("server")->warn(
        "open file limit {} (hard {}) is below the {} descriptors server.max_connections {} "
        "needs: connections past about {} will fail at accept; raise LimitNOFILE / ulimit -n",
        limit.rlim_cur, limit.rlim_max, needed, config.server.max_connections,
        limit.rlim_cur > needed - config.server.max_connections
            ? limit.rlim_cur - (needed - config.server.max_connections)
            : 0);
  }
}

}  // namespace

Server::Server(config::Config config, Options options)
    : config_(std::move(config)), options_(std::move(options)) {
  services_.mysql = &mysql_;
  services_.redis = &redis_;
  services_.replica_reads = &replica_reads_;
  services_.metrics = &metrics_;
  services_.max_frame_bytes = config_.server.max_frame_bytes;
  services_.send_frame = [this](uint64_t conn_id, std::string frame) {
    QueueFrame(conn_id, std::move(frame));
  };
}

Server::~Server() = default;

Status Server::StartPools() {
  if (Status s = storage::InitMysqlLibrary(); !s.ok()) {
    return s;
  }
  for (const auto& [name, cfg] : config_.mysql) {
    auto pool = storage::MysqlPool::Create(cfg);
    if (!pool.ok()) {
      return pool.status();
    }
    mysql_[name] = std::move(pool).value();
  }
  // The loader checked that each primary exists and is no replica itself.
  for (const auto& [name, cfg] : config_.mysql) {
    if (!cfg.read_your_writes.enabled) {
      continue;
    }
    storage::MysqlPool* primary = mysql_.at(cfg.read_your_writes.primary).get();
    primary->TrackCommits();
    const bool every_commit = cfg.read_your_writes.scope == "all";
    replica_reads_[name] = std::make_unique<storage::ReplicaReads>(
        mysql_.at(name).get(), primary, cfg.read_your_writes.wait_ms, every_commit);
    log::Get("storage.mysql")
        ->info("pool {}: reads wait up to {} ms for the commits {} on {}, else go there", name,
               cfg.read_your_writes.wait_ms, every_commit ? "of every writer" : "of this daemon",
               cfg.read_your_writes.primary);
  }
  for (const auto& [name, cfg] : config_.redis) {
    auto pool = storage::RedisPool::Create(cfg);
    if (!pool.ok()) {
      return pool.status();
    }
    redis_[name] = std::move(pool).value();
  }
  return Status::Ok();
}

Status Server::StartListeners() {
  for (const auto& addr : config_.server.listen) {
    auto l = std::make_unique<net::Listener>(loop_.uv(), [this](uv_tcp_t* tcp) { OnAccept(tcp); });
    Status s = l->Listen(addr.host, addr.port);
    if (!s.ok()) {
      return s;
    }
    log::Get("net")->info("listening on {}", l->bound_address());
    l->SetOnRefused(
        [this](const std::string& peer, const std::string& local) { OnRefused(peer, local); });
    listeners_.push_back(std::move(l));
  }
  ApplyAllowList(config_.server.allow, true);
  EnsureFileLimit(config_);
  return Status::Ok();
}

size_t Server::ApplyAllowList(const std::optional<std::vector<std::string>>& allow,
                              bool at_startup) {
  auto logger = log::Get("net");
  for (size_t i = 0; i < listeners_.size() && i < config_.server.listen.size(); ++i) {
    net::Listener& l = *listeners_[i];
    auto list = net::AllowListForListener(allow, config_.server.listen[i].host);
    if (list == nullptr) {
      logger->warn(
          "{}: server.allow is not set and this address is not loopback: EVERY peer that can "
          "reach it may send requests (the protocol has no authentication). Set server.allow "
          "to the msg_server addresses, or to [\"0.0.0.0/0\", \"::/0\"] to admit everyone "
          "explicitly",
          l.bound_address());
    } else if (at_startup || allow) {
      logger->info("{}: admits {}{}", l.bound_address(), list->ToString(),
                   allow ? " (server.allow)" : " (loopback listener, server.allow not set)");
    }
    l.SetAllowList(std::move(list));
  }
  if (at_startup || !allow) {
    // Without a list, a loopback listener's peers are loopback and any other admits all:
    // nothing open can be newly refused.
    return 0;
  }
  auto list = net::AllowListForListener(allow, "");
  std::vector<net::Connection*> refused;
  for (auto& [id, conn] : connections_) {
    sockaddr_storage peer{};
    if (conn->PeerAddress(&peer) && !list->Allows(reinterpret_cast<const sockaddr*>(&peer))) {
      refused.push_back(conn);
    }
  }
  for (net::Connection* conn : refused) {
    logger->warn("conn={} peer={} is not in the reloaded server.allow, closing", conn->id(),
                 conn->peer());
    metrics_.connections_denied.fetch_add(1, std::memory_order_relaxed);
    conn->Close("not in server.allow");
  }
  return refused.size();
}

void Server::OnRefused(const std::string& peer, const std::string& local) {
  metrics_.connections_denied.fetch_add(1, std::memory_order_relaxed);
  uint64_t now = uv_now(loop_.uv());
  auto logger = log::Get("net");
  if (now - refused_log_window_ms_ > 60000) {
    if (refused_unlogged_ > 0) {
      logger->warn("{} more refused peers were not logged (see dbproxy_connections_denied_total)",
                   refused_unlogged_);
    }
    refused_log_window_ms_ = now;
    refused_logged_in_window_ = 0;
    refused_unlogged_ = 0;
  }
  if (refused_logged_in_window_++ < kRefusedLogsPerMinute) {
    logger->warn("refused peer {} on {}: not in server.allow; closed at accept", peer, local);
  } else {
    ++refused_unlogged_;
  }
}

void Server::WriteReadyFile() {
  if (options_.ready_file.empty()) {
    return;
  }
  std::string tmp = options_.ready_file + ".tmp";
  {
    std::ofstream out(tmp);
    for (const auto& l : listeners_) {
      out << "listen " << l->bound_address() << "\n";
    }
    if (admin_) {
      if (!admin_->metrics_address().empty()) {
        out << "metrics " << admin_->metrics_address() << "\n";
      }
      if (!admin_->socket_path().empty()) {
        out << "admin " << admin_->socket_path() << "\n";
      }
    }
    out << "pid " << getpid() << "\n";
  }
  std::error_code ec;
  std::filesystem::rename(tmp, options_.ready_file, ec);
  if (ec) {
    log::Get("server")->error("cannot write ready file {}: {}", options_.ready_file, ec.message());
  }
}

int Server::Run() {
  auto logger = log::Get("server");
  start_ms_ = uv_now(loop_.uv());
  if (Status s = StartPools(); !s.ok()) {
    logger->critical("start-up failed: {}", s.ToString());
    return 1;
  }
  workers_ = std::make_unique<dispatch::WorkerPool>(
      config_.server.workers, config_.server.worker_queue_limit,
      [this] { uv_async_send(space_async_); },
      [this](const void*, std::vector<void*>& payloads) {
        // Every payload is a RequestContext of one batch command entry (see OnFrame).
        std::vector<plugin::RequestContext*> ctxs;
        ctxs.reserve(payloads.size());
        for (void* p : payloads) {
          ctxs.push_back(static_cast<plugin::RequestContext*>(p));
        }
        plugin::RunBatch(ctxs.data(), ctxs.size());
        for (plugin::RequestContext* ctx : ctxs) {
          uint64_t conn_id = ctx->conn_id;
          delete ctx;
          RequestDone(conn_id);
        }
      });

  reply_async_ = new uv_async_t;
  uv_async_init(loop_.uv(), reply_async_,
                [](uv_async_t* a) { static_cast<Server*>(a->data)->DrainReplies(); });
  reply_async_->data = this;
  space_async_ = new uv_async_t;
  uv_async_init(loop_.uv(), space_async_,
                [](uv_async_t* a) { static_cast<Server*>(a->data)->ResumePaused(); });
  space_async_->data = this;
  workers_->Start();

  host_ = std::make_unique<plugin::Host>(loop_.uv(), workers_.get(), &services_);
  if (Status s = host_->Start(config_.plugins); !s.ok()) {
    logger->critical("start-up failed: {}", s.message());
    exit_code_ = 1;
    FinishShutdown();
    loop_.Run();
    return exit_code_;
  }
  Status listen_status = StartListeners();
  if (listen_status.ok()) {
    admin_ = std::make_unique<admin::AdminServer>(loop_.uv(), this);
    listen_status = admin_->Start(config_.admin);
  }
  if (!listen_status.ok()) {
    logger->critical("start-up failed: {}", listen_status.message());
    exit_code_ = 1;
    FinishShutdown();
    loop_.Run();
    return exit_code_;
  }

  sweep_timer_ = new uv_timer_t;
  uv_timer_init(loop_.uv(), sweep_timer_);
  sweep_timer_->data = this;
  uv_timer_start(
      sweep_timer_, [](uv_timer_t* t) { static_cast<Server*>(t->data)->SweepConnections(); },
      kSweepIntervalMs, kSweepIntervalMs);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) {
    StartSignal(sig);
  }
  WriteReadyFile();
  logger->info("dbproxyd {} serving generation {} with {} workers", DBPROXY_VERSION,
               host_->current()->id(), config_.server.workers);
  loop_.Run();
  return exit_code_;
}

void Server::StartSignal(int signum) {
  auto* sig = new uv_signal_t;
  uv_signal_init(loop_.uv(), sig);
  sig->data = this;
  // uv_signal delivers on the loop thread, so the handlers may log, allocate and write
  // sockets (the original did all of that inside a real signal handler, W34).
  uv_signal_start(
      sig,
      [](uv_signal_t* s, int received) {
        auto* self = static_cast<Server*>(s->data);
        if (received == SIGHUP) {
          plugin::ReloadResult r = self->ReloadFromFile("");
          log::Get("server")->info("SIGHUP reload: {}", r.ok ? "applied" : r.error);
        } else {
          self->BeginShutdown(received == SIGTERM ? "SIGTERM" : "SIGINT");
        }
      },
      signum);
  signals_.push_back(sig);
}

void Server::OnAccept(uv_tcp_t* tcp) {
  if (shutting_down_ || connections_.size() >= config_.server.max_connections) {
    metrics_.connections_rejected.fetch_add(1, std::memory_order_relaxed);
    loop::CloseAndDelete(tcp);
    return;
  }
  uint64_t id = next_conn_id_++;  // 64-bit and monotonic: never reused in a process lifetime
  auto* conn = new net::Connection(id, tcp, this,
                                   net::ConnectionLimits{config_.server.max_frame_bytes,
                                                         config_.server.max_output_buffer_bytes});
  connections_[id] = conn;
  metrics_.connections.fetch_add(1, std::memory_order_relaxed);
  metrics_.connections_accepted.fetch_add(1, std::memory_order_relaxed);
  log::Get("net")->debug("conn={} peer={} accepted", id, conn->peer());
  if (workers_->Full()) {
    conn->Pause();
    paused_.insert(id);
  } else {
    conn->StartReading();
  }
}

bool Server::OnFrame(net::Connection& conn, const net::FrameHeader& header, std::string_view body) {
  if (header.command_id == kCmdHeartbeat) {
    metrics_.heartbeats_received.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  const std::shared_ptr<const plugin::Generation>& gen = host_->current();
  const plugin::CommandEntry* entry = gen ? gen->Find(header.command_id) : nullptr;
  if (entry == nullptr || (entry->reg.flags & DBP_CMD_INTERNAL) != 0) {
    metrics_.unknown_commands.fetch_add(1, std::memory_order_relaxed);
    uint64_t now = uv_now(loop_.uv());
    if (now - unknown_log_window_ms_ > 60000) {
      unknown_log_window_ms_ = now;
      unknown_logged_in_window_ = 0;
    }
    if (unknown_logged_in_window_++ < kUnknownLogsPerMinute) {
      log::Get("dispatch")
          ->warn("conn={} cmd=0x{:04x} seq={} len={}: no module handles this command", conn.id(),
                 header.command_id, header.seq, header.length);
    }
    return true;
  }
  if (workers_->Full()) {
    paused_.insert(conn.id());
    return false;
  }
  uint32_t& inflight = inflight_[conn.id()];
  if (inflight >= config_.server.max_inflight_per_connection) {
    // This peer alone waits (its frame stays buffered) until its own requests finish.
    if (capped_.insert(conn.id()).second) {
      metrics_.inflight_capped.fetch_add(1, std::memory_order_relaxed);
    }
    return false;
  }
  ++inflight;
  auto* ctx = new plugin::RequestContext();
  ctx->conn_id = conn.id();
  ctx->header = header;
  ctx->body.assign(body.data(), body.size());
  ctx->generation = gen;
  ctx->entry = entry;
  ctx->enqueued_us = NowMicros();
  uint64_t key = 0;
  if (entry->reg.order_key != nullptr) {
    key = entry->reg.order_key(reinterpret_cast<const uint8_t*>(ctx->body.data()), ctx->body.size(),
                               entry->reg.user);
  }
  if (entry->reg.batch_fn != nullptr) {
    // The entry identifies the command and, through it, the generation: a batch never
    // mixes either.
    workers_->SubmitBatchable(
        entry, ctx, dispatch::WorkerPool::BatchLimits{entry->reg.max_batch, entry->reg.max_running},
        key);
    return true;
  }
  workers_->Submit(
      [this, ctx] {
        plugin::RunHandler(*ctx);
        uint64_t conn_id = ctx->conn_id;
        delete ctx;
        RequestDone(conn_id);
      },
      key);
  return true;
}

void Server::OnClosed(net::Connection& conn) {
  switch (conn.close_cause()) {
    case net::CloseCause::kBadFrame:
      metrics_.bad_frames.fetch_add(1, std::memory_order_relaxed);
      break;
    case net::CloseCause::kOutputFull:
      metrics_.output_full_closes.fetch_add(1, std::memory_order_relaxed);
      break;
    case net::CloseCause::kIdle:
      metrics_.idle_closes.fetch_add(1, std::memory_order_relaxed);
      break;
    case net::CloseCause::kFrameTimeout:
      metrics_.frame_timeouts.fetch_add(1, std::memory_order_relaxed);
      break;
    case net::CloseCause::kPeer:
    case net::CloseCause::kOther:
      break;
  }
  connections_.erase(conn.id());
  paused_.erase(conn.id());
  inflight_.erase(conn.id());  // requests still running are not counted for anyone
  capped_.erase(conn.id());
  metrics_.connections.fetch_sub(1, std::memory_order_relaxed);
}

void Server::QueueFrame(uint64_t conn_id, std::string frame) {
  {
    std::lock_guard<std::mutex> lock(reply_mu_);
    replies_.emplace_back(conn_id, std::move(frame));
  }
  uv_async_send(reply_async_);
}

void Server::RequestDone(uint64_t conn_id) {
  {
    std::lock_guard<std::mutex> lock(reply_mu_);
    done_.push_back(conn_id);
  }
  uv_async_send(reply_async_);
}

void Server::DrainReplies() {
  std::vector<std::pair<uint64_t, std::string>> batch;
  std::vector<uint64_t> done;
  {
    std::lock_guard<std::mutex> lock(reply_mu_);
    batch.swap(replies_);
    done.swap(done_);
  }
  // Frames for one connection are joined into one write (fewer syscalls under load, order
  // kept), in pieces of at most kJoinBytes so the output bound is checked as they grow.
  constexpr size_t kJoinBytes = 256 * 1024;
  std::unordered_map<uint64_t, std::string> joined;
  for (auto& [id, frame] : batch) {
    auto conn = connections_.find(id);
    if (conn == connections_.end() || conn->second->closing()) {
      metrics_.replies_dropped.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    std::string& pending = joined[id];
    if (!pending.empty() && pending.size() + frame.size() > kJoinBytes) {
      conn->second->Send(std::move(pending));
      pending.clear();
    }
    if (pending.empty()) {
      pending = std::move(frame);
    } else {
      pending.append(frame);
    }
  }
  for (auto& [id, pending] : joined) {
    auto conn = connections_.find(id);
    if (pending.empty() || conn == connections_.end()) {
      continue;
    }
    conn->second->Send(std::move(pending));
  }
  // Finished requests: a connection paused at its in-flight cap is read again once half of
  // its requests are done (not at every single one, which would pause it again at once).
  for (uint64_t id : done) {
    auto it = inflight_.find(id);
    if (it == inflight_.end()) {
      continue;  // closed meanwhile
    }
    if (--it->second == 0) {
      inflight_.erase(it);
    }
  }
  std::vector<uint64_t> resume;
  for (uint64_t id : capped_) {
    auto n = inflight_.find(id);
    if (n == inflight_.end() || n->second <= config_.server.max_inflight_per_connection / 2) {
      resume.push_back(id);
    }
  }
  for (uint64_t id : resume) {
    capped_.erase(id);
    auto conn = connections_.find(id);
    if (conn != connections_.end()) {
      conn->second->Resume();  // refused again (re-capped, or paused) if it cannot go on
    }
  }
}

void Server::ResumePaused() {
  if (workers_->Full()) {
    return;
  }
  std::vector<uint64_t> ids(paused_.begin(), paused_.end());
  paused_.clear();
  for (uint64_t id : ids) {
    auto it = connections_.find(id);
    if (it != connections_.end()) {
      it->second->Resume();
    }
    if (workers_->Full()) {
      break;  // Resume() may refill the queue; the rest wait again
    }
  }
}

void Server::SweepConnections() {
  uint64_t now = uv_now(loop_.uv());
  std::vector<net::Connection*> idle;
  std::vector<net::Connection*> stuck;  // a frame begun and not finished in time
  for (auto& [id, conn] : connections_) {
    // A connection the daemon stopped reading (queue full, in-flight cap) has a frame
    // waiting: its silence is ours, not the peer's.
    bool held = paused_.count(id) != 0 || capped_.count(id) != 0;
    if (!held && now - conn->last_recv_ms() > config_.server.idle_timeout_ms) {
      idle.push_back(conn);
    } else if (!held && config_.server.frame_timeout_ms > 0 && conn->partial_since_ms() != 0 &&
               now - conn->partial_since_ms() > config_.server.frame_timeout_ms) {
      stuck.push_back(conn);
    } else if (now - conn->last_send_ms() >= config_.server.heartbeat_interval_ms) {
      std::string frame;
      net::AppendFrame(kServiceOther, kCmdHeartbeat, 0, {}, &frame);
      conn->Send(std::move(frame));
    }
  }
  for (net::Connection* conn : idle) {
    log::Get("net")->info("conn={} peer={} idle for {} ms, closing", conn->id(), conn->peer(),
                          now - conn->last_recv_ms());
    conn->Close("idle timeout", net::CloseCause::kIdle);
  }
  for (net::Connection* conn : stuck) {
    log::Get("net")->info(
        "conn={} peer={} frame incomplete for {} ms (frame_timeout_ms {}), closing", conn->id(),
        conn->peer(), now - conn->partial_since_ms(), config_.server.frame_timeout_ms);
    conn->Close("frame timeout", net::CloseCause::kFrameTimeout);
  }
}

void Server::BeginShutdown(const char* why) {
  if (shutting_down_) {
    return;
  }
  shutting_down_ = true;
  log::Get("server")->info(
      "{}: stopping: no new connections, telling {} peers, draining up to {} ms", why,
      connections_.size(), config_.server.shutdown_deadline_ms);
  for (auto& l : listeners_) {
    l->Close();
  }
  for (auto& [id, conn] : connections_) {
    std::string frame;
    net::AppendFrame(kServiceOther, kCmdStopRecvPacket, 0, kStopReceiveBody, &frame);
    conn->Send(std::move(frame));
  }
  stop_notice_ms_ = uv_now(loop_.uv());
  shutdown_deadline_ms_ = stop_notice_ms_ + config_.server.shutdown_deadline_ms;
  drain_timer_ = new uv_timer_t;
  uv_timer_init(loop_.uv(), drain_timer_);
  drain_timer_->data = this;
  uv_timer_start(
      drain_timer_, [](uv_timer_t* t) { static_cast<Server*>(t->data)->CheckDrained(); }, 0, 10);
}

void Server::CheckDrained() {
  bool idle = workers_->depth() == 0 && workers_->running() == 0 && paused_.empty();
  {
    std::lock_guard<std::mutex> lock(reply_mu_);
    idle = idle && replies_.empty();
  }
  // A peer keeps sending until it has read the notice, so requests it sent before may still
  // be on their way (or in its own queue) when the work in hand is done. A connection counts
  // as drained once it has been quiet -- nothing received, nothing half-received -- for
  // kStopQuietMs since the notice went out and since its last bytes, or its peer has closed
  // it. Closing earlier would drop those requests, and the answers still unread on the peer
  // side with them (a close with unread input sends a reset).
  const uint64_t now = uv_now(loop_.uv());
  bool flushed = true;
  for (auto& [id, conn] : connections_) {
    const uint64_t last = std::max(conn->last_recv_ms(), stop_notice_ms_);
    flushed = flushed && conn->output_bytes() == 0 && conn->input_bytes() == 0 &&
              now - last >= kStopQuietMs;
  }
  bool late = now >= shutdown_deadline_ms_;
  if (!(idle && flushed) && !late) {
    return;
  }
  if (late && !(idle && flushed)) {
    log::Get("server")->warn(
        "shutdown deadline reached with work in flight (queued {}, running {})", workers_->depth(),
        workers_->running());
  }
  FinishShutdown();
}

void Server::FinishShutdown() {
  if (drain_timer_ != nullptr) {
    loop::CloseAndDelete(drain_timer_);
    drain_timer_ = nullptr;
  }
  std::vector<net::Connection*> open;
  for (auto& [id, conn] : connections_) {
    open.push_back(conn);
  }
  for (net::Connection* conn : open) {
    conn->Close("shutdown");
  }
  for (auto& l : listeners_) {
    l->Close();
  }
  if (admin_) {
    admin_->Close();
  }
  // Workers finish what is queued (the deadline already passed or nothing is left).
  if (workers_) {
    workers_->Stop();
  }
  if (host_) {
    host_->Shutdown();
  }
  DrainReplies();  // drops what could not be delivered, counted
  for (auto& [name, pool] : mysql_) {
    pool->Close();
  }
  for (auto& [name, pool] : redis_) {
    pool->Close();
  }
  for (uv_signal_t* s : signals_) {
    loop::CloseAndDelete(s);
  }
  signals_.clear();
  if (sweep_timer_ != nullptr) {
    loop::CloseAndDelete(sweep_timer_);
    sweep_timer_ = nullptr;
  }
  host_.reset();
  if (reply_async_ != nullptr) {
    loop::CloseAndDelete(reply_async_);
  }
  if (space_async_ != nullptr) {
    loop::CloseAndDelete(space_async_);
  }
  reply_async_ = space_async_ = nullptr;
  loop_.Stop();
  log::Get("server")->info("stopped");
}

plugin::ReloadResult Server::ReloadFromFile(const std::string& force_module) {
  plugin::ReloadResult r;
  auto loaded = config::LoadConfigFile(config_.source_path);
  if (!loaded.ok()) {
    r.error = loaded.status().message();
    metrics_.reloads_total.fetch_add(1);
    metrics_.reload_failures.fetch_add(1);
    metrics_.last_reload_successful.store(0);
    r.generation = host_->current()->id();
    log::Get("server")->error("reload refused: {}", r.error);
    return r;
  }
  config::Config next = std::move(loaded).value();
  // Settings that only a restart can change are reported, never silently ignored.
  std::vector<std::string> restart_needed;
  auto listen_text = [](const config::ServerConfig& s) {
    std::string out;
    for (const auto& a : s.listen) {
      out += a.host + ":" + std::to_string(a.port) + ",";
    }
    return out;
  };
  if (listen_text(next.server) != listen_text(config_.server)) {
    restart_needed.push_back("server.listen");
  }
  if (next.server.workers != config_.server.workers) {
    restart_needed.push_back("server.workers");
  }
  auto mysql_text = [](const std::map<std::string, config::MysqlPoolConfig>& m) {
    std::string out;
    for (const auto& [n, c] : m) {
      out += n + "=" + c.host + ":" + std::to_string(c.port) + "/" + c.database + "/" + c.user +
             "/" + std::to_string(c.pool_size);
      if (c.tls) {  // a changed tls block is a pool change: restart, like host or user
        out += "/tls=" + c.tls->ca + "," + c.tls->cert + "," + c.tls->key + "," +
               (c.tls->verify_server_cert ? "verify" : "noverify");
      }
      if (c.read_your_writes.enabled) {  // also a pool change
        out += "/ryw=" + c.read_your_writes.primary + "@" +
               std::to_string(c.read_your_writes.wait_ms) + c.read_your_writes.scope;
      }
      out += ";";
    }
    return out;
  };
  if (mysql_text(next.mysql) != mysql_text(config_.mysql)) {
    restart_needed.push_back("mysql");
  }
  auto redis_text = [](const std::map<std::string, config::RedisConfig>& m) {
    std::string out;
    for (const auto& [n, c] : m) {
      out += n + "=" + c.host + ":" + std::to_string(c.port) + "/" + std::to_string(c.db) + "/" +
             std::to_string(c.pool_size) + "/" + c.master_name + ";";
      for (const auto& s : c.sentinels) {
        out += s.host + ":" + std::to_string(s.port) + ",";
      }
    }
    return out;
  };
  if (redis_text(next.redis) != redis_text(config_.redis)) {
    restart_needed.push_back("redis");
  }
  if (next.admin.socket != config_.admin.socket ||
      next.admin.socket_group != config_.admin.socket_group ||
      next.admin.metrics_listen != config_.admin.metrics_listen) {
    restart_needed.push_back("admin");
  }
  for (const std::string& key : restart_needed) {
    log::Get("server")->warn("reload: '{}' changed but needs a restart; the running value stays",
                             key);
  }
  r = host_->Reload(next.plugins, force_module);
  if (r.ok) {
    if (next.server.allow != config_.server.allow) {
      size_t closed = ApplyAllowList(next.server.allow, false);
      log::Get("server")->info("reload: server.allow is now {}; closed {} connections",
                               next.server.allow ? "set" : "unset (listener defaults)", closed);
      config_.server.allow = next.server.allow;
    }
    config_.plugins = next.plugins;
    if (next.log.level != config_.log.level) {
      (void)log::Setup(next.log.level, "");
      config_.log.level = next.log.level;
    }
  }
  r.restart_required = restart_needed;
  return r;
}

std::string Server::StatusJson() const {
  std::ostringstream out;
  uint64_t uptime_ms =
      uv_now(const_cast<uv_loop_t*>(const_cast<loop::EventLoop&>(loop_).uv())) - start_ms_;
  out << "{\"version\":\"" << DBPROXY_VERSION << "\",\"pid\":" << getpid()
      << ",\"uptime_seconds\":" << uptime_ms / 1000 << ",\"connections\":" << connections_.size()
      << ",\"queue_depth\":" << (workers_ ? workers_->depth() : 0)
      << ",\"running\":" << (workers_ ? workers_->running() : 0)
      << ",\"workers\":" << config_.server.workers
      << ",\"generation\":" << (host_ && host_->current() ? host_->current()->id() : 0)
      << ",\"last_reload_successful\":" << metrics_.last_reload_successful.load()
      << ",\"last_reload_error\":\"" << JsonEscape(host_ ? host_->last_reload_error() : "")
      << "\",\"shutting_down\":" << (shutting_down_ ? "true" : "false") << "}";
  return out.str();
}

std::string Server::ModulesJson() const {
  std::ostringstream out;
  out << "[";
  bool first = true;
  for (const auto& m : host_->Modules()) {
    out << (first ? "" : ",") << "{\"name\":\"" << JsonEscape(m.name) << "\",\"version\":\""
        << JsonEscape(m.version) << "\",\"abi\":\"" << m.abi << "\",\"generation\":" << m.generation
        << ",\"state\":\"" << m.state << "\",\"in_flight\":" << m.in_flight
        << ",\"reloadable\":" << (m.reloadable ? "true" : "false") << ",\"commands\":[";
    for (size_t i = 0; i < m.commands.size(); ++i) {
      char buf[16];
      snprintf(buf, sizeof(buf), "\"0x%04x\"", m.commands[i]);
      out << (i ? "," : "") << buf;
    }
    out << "],\"path\":\"" << JsonEscape(m.path) << "\",\"staged_path\":\""
        << JsonEscape(m.staged_path) << "\",\"content_hash\":\"" << m.content_hash
        << "\",\"last_error\":\"" << JsonEscape(m.last_error) << "\"}";
    first = false;
  }
  out << "]";
  return out.str();
}

std::string Server::RenderMetrics() const {
  return metrics_.RenderPrometheus([this](std::string* out) {
    char buf[256];
    auto line = [&](const char* name, const std::string& labels, double v) {
      snprintf(buf, sizeof(buf), "%s{%s} %.17g\n", name, labels.c_str(), v);
      out->append(buf);
    };
    out->append(
        "# HELP dbproxy_worker_queue_depth Requests waiting for a worker.\n# TYPE "
        "dbproxy_worker_queue_depth gauge\n");
    snprintf(buf, sizeof(buf), "dbproxy_worker_queue_depth %zu\n",
             workers_ ? workers_->depth() : 0);
    out->append(buf);
    // The limit beside the depth, so an alert can say "near the limit" without knowing the
    // configuration of the daemon it watches.
    out->append(
        "# HELP dbproxy_worker_queue_limit Queued requests at which reading stops.\n# TYPE "
        "dbproxy_worker_queue_limit gauge\n");
    snprintf(buf, sizeof(buf), "dbproxy_worker_queue_limit %zu\n",
             workers_ ? workers_->queue_limit() : 0);
    out->append(buf);
    out->append(
        "# HELP dbproxy_workers_busy Workers running a handler.\n# TYPE dbproxy_workers_busy "
        "gauge\n");
    snprintf(buf, sizeof(buf), "dbproxy_workers_busy %zu\n", workers_ ? workers_->running() : 0);
    out->append(buf);
    out->append(
        "# HELP dbproxy_pool_connections Pool connections by state.\n# TYPE "
        "dbproxy_pool_connections gauge\n");
    out->append(
        "# HELP dbproxy_pool_waits_total Acquires that had to wait.\n# TYPE "
        "dbproxy_pool_waits_total counter\n");
    out->append(
        "# HELP dbproxy_pool_errors_total Connect and I/O errors.\n# TYPE "
        "dbproxy_pool_errors_total counter\n");
    out->append(
        "# HELP dbproxy_pool_timeouts_total Acquires that timed out.\n# TYPE "
        "dbproxy_pool_timeouts_total counter\n");
    for (const auto& [name, pool] : mysql_) {
      auto s = pool->stats();
      std::string l = "kind=\"mysql\",pool=\"" + name + "\"";
      line("dbproxy_pool_connections", l + ",state=\"open\"", static_cast<double>(s.size));
      line("dbproxy_pool_connections", l + ",state=\"in_use\"", static_cast<double>(s.in_use));
      line("dbproxy_pool_waits_total", l, static_cast<double>(s.waits));
      line("dbproxy_pool_errors_total", l, static_cast<double>(s.errors));
      line("dbproxy_pool_timeouts_total", l, static_cast<double>(s.timeouts));
    }
    for (const auto& [name, pool] : redis_) {
      auto s = pool->stats();
      std::string l = "kind=\"redis\",pool=\"" + name + "\"";
      line("dbproxy_pool_connections", l + ",state=\"open\"", static_cast<double>(s.size));
      line("dbproxy_pool_connections", l + ",state=\"in_use\"", static_cast<double>(s.in_use));
      line("dbproxy_pool_waits_total", l, static_cast<double>(s.waits));
      line("dbproxy_pool_errors_total", l, static_cast<double>(s.errors));
      line("dbproxy_pool_timeouts_total", l, static_cast<double>(s.timeouts));
    }
    RenderRedisSentinelMetrics(out);
    AppendReplicaMetrics(replica_reads_, out);
    out->append(
        "# HELP dbproxy_module_info Loaded modules (1 per module and generation).\n# TYPE "
        "dbproxy_module_info gauge\n");
    out->append(
        "# HELP dbproxy_module_in_flight Calls running module code.\n# TYPE "
        "dbproxy_module_in_flight gauge\n");
    for (const auto& m : host_->Modules()) {
      std::string l = "module=\"" + m.name + "\",version=\"" + m.version + "\",generation=\"" +
                      std::to_string(m.generation) + "\",state=\"" + m.state + "\"";
      line("dbproxy_module_info", l, 1);
      line("dbproxy_module_in_flight",
           "module=\"" + m.name + "\",generation=\"" + std::to_string(m.generation) + "\"",
           static_cast<double>(m.in_flight));
    }
  });
}

// The Sentinel series, for instances that have sentinels configured.
void Server::RenderRedisSentinelMetrics(std::string* out) const {
  out->append(
      "# HELP dbproxy_redis_master_switches_total Times the Redis master (found through "
      "Sentinel) moved to another address.\n# TYPE dbproxy_redis_master_switches_total "
      "counter\n"
      "# HELP dbproxy_redis_master_resolve_failures_total Times no sentinel named a usable "
      "master.\n# TYPE dbproxy_redis_master_resolve_failures_total counter\n"
      "# HELP dbproxy_redis_master_info The Redis master in use (1 per instance and "
      "address).\n# TYPE dbproxy_redis_master_info gauge\n");
  for (const auto& [name, pool] : redis_) {
    if (config_.redis.count(name) == 0 || config_.redis.at(name).sentinels.empty()) {
      continue;
    }
    const auto s = pool->stats();
    const std::string l = "instance=\"" + name + "\"";
    out->append("dbproxy_redis_master_switches_total{" + l + "} " +
                std::to_string(s.master_switches) + "\n");
    out->append("dbproxy_redis_master_resolve_failures_total{" + l + "} " +
                std::to_string(s.resolve_failures) + "\n");
    if (!s.master.empty()) {
      out->append("dbproxy_redis_master_info{" + l + ",address=\"" + s.master + "\"} 1\n");
    }
  }
}

}  // namespace dbproxy
