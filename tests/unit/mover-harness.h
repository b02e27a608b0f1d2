// A legacy server, an in-memory store and a mover between them, for the
// mover's tests. (check.h must be included last, so helpers here return
// what is wrong instead of asserting.)
#pragma once

#include "fake-imap-server.h"
#include "fake-store.h"
#include "temp-dir.h"

#include "base/logger.h"
#include "move/imap-mover.h"
#include "move/move-report.h"

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

using namespace mailmove;

inline fake::LegacyMailbox make_legacy(uint32_t count, uint32_t first_uid = 1)
{
	fake::LegacyMailbox box;
	for (uint32_t i = 0; i < count; i++) {
		fake::LegacyMessage m;
		m.uid = first_uid + i * 2; /* gaps, like a real mailbox */
		m.body = "Subject: message " + std::to_string(m.uid) + "\r\n\r\n" +
			 std::string(100 + (m.uid * 37) % 3000, 'a' + m.uid % 26) + "\r\n";
		if (m.uid % 3 == 0)
			m.flags = {"\\Seen", "\\Recent"};
		if (m.uid % 5 == 0)
			m.flags.push_back("$Forwarded");
		/* dates out of UID order, so "newest first" is seen to
		   follow the date, not the UID */
		int day = 1 + (m.uid * 7) % 28;
		m.internaldate = (day < 10 ? " " : "") + std::to_string(day) +
				 "-Jul-2019 02:44:25 -0700";
		box.messages.push_back(m);
	}
	return box;
}

// The order a newest-first move saves make_legacy()'s messages in: by
// date, then by UID.
inline std::vector<fake::LegacyMessage> newest_first_order(const fake::LegacyMailbox &box)
{
	std::vector<fake::LegacyMessage> order = box.messages;
	auto day_of = [](const fake::LegacyMessage &m) { return 1 + (m.uid * 7) % 28; };
	std::sort(order.begin(), order.end(), [&](const auto &a, const auto &b) {
		return day_of(a) != day_of(b) ? day_of(a) > day_of(b) : a.uid > b.uid;
	});
	return order;
}

struct Harness {
	TempDir dir;
	fake::FakeStoreData data;
	fake::LegacyServer server;
	fake::LegacyMailbox &legacy = server.mailboxes["INBOX"];
	fake::ImapServerOptions server_options;
	imap::ClientOptions client_options;
	// The fake server speaks plain IMAP only: these tests allow a login
	// in clear, as an admin would with mailmove_source_starttls = no.
	move::TlsUpgrade starttls = move::TlsUpgrade::never;
	std::string auth_hint;
	source::Throttling throttling;
	std::string oauth2_only_provider;
	move::MoveOptions options;
	std::vector<Progress> progress;
	std::map<std::string, FolderProgress> folders; // the last seen, per folder
	std::vector<std::string> commands;              // of the last run
	// Off for moves over several connections: the connections' threads
	// would write commands at once.
	bool log_commands = true;
	// Changes the options of a run's n-th connection (0: the first);
	// called from the readers' threads too.
	std::function<void(size_t n, fake::ImapServerOptions &)> per_connection;

	move::MoveReport run(const std::string &password = "secret")
	{
		fake::FakeStore store(data, dir.path());
		move::ImapSource source;
		source.url.host = "legacy.example";
		source.url.port = 143;
		source.login = "alice";
		source.password = password;
		source.starttls = starttls;
		source.client = client_options;
		source.auth_hint = auth_hint;
		source.throttling = throttling;
		source.oauth2_only_provider = oauth2_only_provider;
		NullLogger log;
		options.lock_wait_ms = 200;
		std::atomic<size_t> opened{0};
		move::ImapMover mover(
			source, options, store, log, [] { return false; },
			[this](const Progress &p) { progress.push_back(p); },
			[this, &opened]() {
				fake::ImapServerOptions session = server_options;
				if (per_connection)
					per_connection(opened++, session);
				if (log_commands) {
					commands.clear();
					session.command_log = &commands;
				}
				return std::make_unique<fake::FakeImapServer>(server, session);
			});
		mover.set_folder_callback([this](const FolderProgress &f) { folders[f.name] = f; });
		return mover.run();
	}

	const std::vector<fake::StoredMessage> &inbox() { return data.mailboxes["INBOX"].messages; }

	// "" when every message of the legacy folder is in the target
	// mailbox exactly once, byte for byte; else what is wrong.
	std::string exactly_once_problem(const std::string &legacy_name = "INBOX",
					 const std::string &target_name = "INBOX")
	{
		const auto &stored = data.mailboxes[target_name].messages;
		const auto &original = server.mailboxes[legacy_name].messages;
		std::map<std::string, int> seen;
		for (const auto &m : stored)
			seen[m.body]++;
		if (stored.size() != original.size()) {
			return target_name + " has " + std::to_string(stored.size()) +
			       " messages, legacy " + legacy_name + " " +
			       std::to_string(original.size());
		}
		for (const auto &m : original) {
			if (seen[m.body] != 1) {
				return legacy_name + " UID " + std::to_string(m.uid) + " is at the target " +
				       std::to_string(seen[m.body]) + " time(s)";
			}
		}
		return "";
	}

	// The job report's entries of one kind.
	std::vector<KeyValues> report(const std::string &kind)
	{
		std::vector<KeyValues> entries;
		move::read_report(dir.path(), [&](const std::string &k, const KeyValues &f) {
			if (k == kind)
				entries.push_back(f);
		});
		return entries;
	}
};

#define ck_assert_exactly_once(h, ...)                                        \
	do {                                                                  \
		std::string problem_ = (h).exactly_once_problem(__VA_ARGS__);  \
		ck_assert_msg(problem_.empty(), "%s", problem_.c_str());       \
	} while (0)
