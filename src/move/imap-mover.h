// Moves a user's mail from a legacy IMAP server into a Store: log in,
// EXAMINE each folder (the legacy side is never changed), skip what the
// checkpoint says is there, and stream the rest newest first through
// pipelined UID FETCH BODY.PEEK[] straight into the store, committing and
// checkpointing batch by batch.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/cancel.h"
#include "base/logger.h"
#include "base/progress.h"
#include "imap/client.h"
#include "move/store.h"
#include "net/stream.h"
#include "source/source-url.h"

namespace mailmove::move {

struct ImapSource {
	source::SourceUrl url;
	std::string login;
	std::string password; // never logged
	// When set: log in as this SASL authentication identity with
	// password, for login (AUTHENTICATE PLAIN's authorization identity).
	std::string master_user;
	net::TlsOptions tls;
	imap::ClientOptions client;
};

// How a move behaves, independent of where the mail comes from.
struct MoveOptions {
	// How long to wait for another move of the same user to stop (a
	// worker whose service restarted notices within a second).
	int lock_wait_ms = 30000;
};

struct MoveReport {
	Progress progress;
	uint64_t saved_now = 0;    // messages saved by this run
	uint64_t vanished_now = 0; // listed, but gone when fetched
};

// A legacy folder as a move would handle it (what `doveadm mailmove test`
// shows).
struct PlannedFolder {
	std::string legacy_name;
	std::string target_name;
	std::string role;        // special-use role ("\\Sent"), empty if none
	std::string skip_reason; // empty unless the folder is skipped
	uint32_t messages = 0;
};

using StreamFactory = std::function<std::unique_ptr<net::Stream>()>;
using ProgressCallback = std::function<void(const Progress &)>;

class ImapMover {
public:
	// connect defaults to net::connect() to source.url; tests pass a fake.
	ImapMover(ImapSource source, MoveOptions options, Store &store, Logger &log,
		  CancelCheck cancel, ProgressCallback on_progress, StreamFactory connect = {});

	// Throws mailmove::Failure; whatever was committed before stays
	// checkpointed, so the next run continues from there.
	MoveReport run();

	// Logs in and lists what a move would handle; changes nothing.
	std::vector<PlannedFolder> survey();

private:
	std::unique_ptr<imap::Client> open_session();
	void move_folder(imap::Client &client, class Checkpoint &checkpoint,
			 const std::string &legacy_folder, const std::string &target_name);

	ImapSource source_;
	MoveOptions options_;
	Store &store_;
	Logger &log_;
	CancelCheck cancel_;
	ProgressCallback on_progress_;
	StreamFactory connect_;
	std::string source_key_;
	MoveReport report_;
};

} // namespace mailmove::move
