// Client's state and the steps its commands share; the commands are
// spread over client.cc (messages), client-login.cc (TLS and
// authentication) and client-folders.cc (LIST, NAMESPACE).
#pragma once

#include <memory>
#include <string_view>

#include "base/failure.h"
#include "imap/client.h"
#include "imap/command-quoting.h"
#include "imap/connection.h"
#include "imap/refusal.h"

namespace mailmove::imap {

struct Client::Impl {
	Impl(std::unique_ptr<net::Stream> stream, Logger &log, ClientOptions options,
	     CancelCheck cancel)
		: connection(std::move(stream), log, std::move(cancel), options.command_timeout_ms),
		  options(options)
	{
	}

	// Runs a command; anything but OK is thrown as a Failure.
	Response run_ok(const CommandText &command, FailureKind kind_for_no, std::string_view name)
	{
		Response tagged = connection.run(command);
		if (!tagged.is_ok())
			throw_refusal(tagged, kind_for_no, connection.peer(), name);
		return tagged;
	}

	// Runs a login command. Capabilities change with the login, so they
	// are forgotten and learnt again (from the OK's code, or by asking).
	void run_login(const CommandText &command, std::string_view name)
	{
		connection.forget_capabilities();
		run_ok(command, FailureKind::auth, name);
		if (!connection.capabilities_known())
			refresh_capabilities();
	}

	void refresh_capabilities()
	{
		CommandText command = CommandBuilder("CAPABILITY", {}).finish();
		run_ok(command, FailureKind::temporary, "CAPABILITY");
		if (!connection.capabilities_known()) {
			throw Failure(FailureKind::permanent,
				      connection.peer() + ": server sent no CAPABILITY response");
		}
	}

	Connection connection;
	ClientOptions options;
	bool preauthenticated = false;
	// What the last EXAMINE opened; empty while none is (or one failed).
	std::string examined;
	std::vector<std::string> unreadable_list_entries;
};

} // namespace mailmove::imap
