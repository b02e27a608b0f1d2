// What the IMAP client tests share: a Client wired to a scripted server
// (FakeStream), a logger that keeps the protocol trace, and a runner for
// "this reply is that kind of Failure" tables.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fake-stream.h"
#include "imap/client.h"
#include "check-assert.h"

namespace mailmove::test {

class CaptureLogger final : public Logger {
public:
	void log(LogLevel, std::string_view message) override { lines.emplace_back(message); }
	bool has_line_containing(std::string_view part) const
	{
		for (const std::string &line : lines) {
			if (line.find(part) != std::string::npos)
				return true;
		}
		return false;
	}
	std::vector<std::string> lines;
};

// A client wired to a FakeStream it owns; server points at that stream.
struct Session {
	explicit Session(imap::ClientOptions options = {}, Chunking chunking = Chunking::whole(),
			 CancelCheck cancel = {})
		: Session(std::make_unique<FakeStream>(chunking), options, std::move(cancel))
	{
	}

	CaptureLogger log;
	FakeStream *server;
	imap::Client client;

private:
	Session(std::unique_ptr<FakeStream> stream, imap::ClientOptions options, CancelCheck cancel)
		: server(stream.get()), client(std::move(stream), log, options, std::move(cancel))
	{
	}
};

inline const std::string greeting_literal_plus =
	"* OK [CAPABILITY IMAP4rev1 LITERAL+ ID] ready\r\n";

using RefusalCase = std::pair<const char *, FailureKind>;

using RefusalAttempt = std::function<Failure(Session &, const std::string &)>;

// Runs attempt against each server reply in a fresh session and checks
// the kind of Failure it ends in.
inline void check_refusal_kinds(const std::vector<RefusalCase> &cases,
				const RefusalAttempt &attempt)
{
	for (const auto &[reply, kind] : cases) {
		Session s;
		ck_assert_msg(attempt(s, reply).kind() == kind, "%s", reply);
	}
}

} // namespace mailmove::test
