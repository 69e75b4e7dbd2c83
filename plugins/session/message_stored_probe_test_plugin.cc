// session_test_probe: a test-only module that publishes "message.stored" events on demand,
// so the session and unread integration tests can deliver many events (and batches) at the
// same moment, which the real message module (serialising the messages of one conversation)
// does not produce on cue.
//   0x7f01: body = a message.stored payload (one or more events::MessageStored records, or
//           any bytes); publishes it as is and replies 0x7f02 with the number of
//           subscribers that received it (decimal text).
// Built only for tests (TEST_ONLY); never installed.

#include <string>

#include "dbproxy/sdk.h"
#include "plugins/common/events.h"

namespace dbproxy::plugins::session {
namespace {

class MessageStoredProbe : public sdk::Plugin {
 public:
  sdk::Status Init(sdk::Host& host) override {
    host_ = &host;
    return host.RegisterCommand(0x7f01, [this](sdk::Request& r) {
      int delivered = host_->Publish(events::kMessageStored, r.body());
      (void)r.Reply(7, 0x7f02, std::to_string(delivered));
    });
  }

 private:
  sdk::Host* host_ = nullptr;
};

}  // namespace
}  // namespace dbproxy::plugins::session

DBP_PLUGIN("session_test_probe", "1.0.0", DBP_PLUGIN_RELOADABLE,
           dbproxy::plugins::session::MessageStoredProbe)
