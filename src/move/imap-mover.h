// Moves a user's mail from a legacy IMAP server into a Store: log in,
// EXAMINE each folder (the legacy side is never changed), skip what the
// checkpoint says is there, and stream the rest newest first through
// pipelined UID FETCH BODY.PEEK[] straight into the store, committing and
// checkpointing batch by batch.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/cancel.h"
#include "base/logger.h"
#include "base/progress.h"
#include "base/secret.h"
#include "imap/client.h"
#include "move/move-order.h"
#include "move/mover.h"
#include "move/store.h"
#include "net/stream.h"
#include "source/source-url.h"
#include "source/throttling.h"

namespace mailmove::move {

// How to log in.
enum class ImapAuth {
	// LOGIN, or AUTHENTICATE PLAIN when LOGIN is disabled; with an OAuth2
	// token, OAUTHBEARER when offered, else XOAUTH2
	automatic,
	login,
	plain,
	xoauth2,     // needs oauth2_token
	oauthbearer, // needs oauth2_token
};

struct ImapSource {
	source::SourceUrl url;
	std::string login;
	SecretString password; // never logged
	// When set: log in as this SASL authentication identity with
	// password, for login (AUTHENTICATE PLAIN's authorization identity).
	std::string master_user;
	TlsUpgrade starttls = TlsUpgrade::required;
	ImapAuth auth = ImapAuth::automatic;
	net::TlsOptions tls;
	imap::ClientOptions client;
	// Added to a refused login's message: what the provider needs
	// (authorization code, app password, IMAP switched on).
	std::string auth_hint;
	// The provider's "too fast, try later" answers (the preset's throttle
	// lines) and its backoff: an answer with one, at login or later,
	// ends the session with Throttled (open_imap_session(),
	// throw_if_throttled()).
	source::Throttling throttling;
	// An OAuth2 access token for login (never logged): when set, the
	// session logs in with XOAUTH2 or OAUTHBEARER and sends no password.
	SecretString oauth2_token;
	// Non-empty (the provider's title) when the provider refuses
	// passwords and only OAuth2 logs in: without oauth2_token the move
	// stops before sending the password, with a permanent failure that
	// says so.
	std::string oauth2_only_provider;
};

class Checkpoint;
class FolderReaders;
class HandOverLogger;
class ImapFolder;
class ReportWriter;
struct RunContext;

class ImapMover {
public:
	// connect defaults to net::connect() to source.url; tests pass a fake.
	ImapMover(ImapSource source, MoveOptions options, Store &store, Logger &log,
		  CancelCheck cancel, ProgressCallback on_progress, StreamFactory connect = {});

	// Per-folder progress, whenever a folder's counts or state change.
	void set_folder_callback(FolderCallback on_folder) { on_folder_ = std::move(on_folder); }

	// Moves every folder the legacy server lists (after the mapping and
	// skipping rules) in the configured order. Throws mailmove::Failure;
	// whatever was committed before stays checkpointed, so the next run
	// continues from there. Messages the target refuses or the server
	// cannot deliver are in the job report (move-report.h) and counted in
	// messages_failed; the next run tries them again. A folder that cannot
	// be opened (EXAMINE refused...) or created does not stop the others;
	// it is in failed_folders, which makes the run failed
	// (throw_if_incomplete()).
	MoveReport run();

	// Logs in and lists what a move would handle; changes nothing.
	std::vector<PlannedFolder> survey();

private:
	// run() and survey() once the session is open. move_all() hands
	// client to reader threads when it moves over several connections
	// (client is null then; session_log and readers_stop are its
	// session's, see run()).
	void move_all(std::unique_ptr<imap::Client> &client, HandOverLogger &session_log,
		      std::atomic<bool> &readers_stop, Checkpoint &checkpoint,
		      ReportWriter &report);
	std::vector<PlannedFolder> plan(imap::Client &client);
	std::vector<names::MappedFolder> map_legacy_folders(imap::Client &client,
							    const Checkpoint *checkpoint);
	// What holds no mail: the target's plain parents and the legacy
	// subscriptions. Left for after INBOX's newest mail (each is a write
	// of the target's folder list or subscription file, with the
	// default mail_fsync an fsync: ~80 ms for a dozen folders).
	struct TargetTree {
		std::vector<std::pair<std::string, std::string>> parents; // (target, legacy)
		std::vector<std::string> subscriptions;                   // target names
	};
	std::vector<ImapFolder> prepare_folders(const std::vector<names::MappedFolder> &mapped,
						ReportWriter &report, TargetTree &tree);
	void carry_over(const TargetTree &tree);
	// A plain parent is done (on_folder_).
	void report_parent_done(const std::string &target, const std::string &legacy);
	// A folder that is not moved: logged, in the job report, counted.
	void record_folder_failure(const std::string &legacy_name, const std::string &target_name,
				   const std::string &reason, FailureKind kind, ReportWriter &report);
	void folder_failed(ImapFolder &folder, const Failure &failure, ReportWriter &report);
	void folder_finished(ImapFolder &folder);
	// Moves the first options_.first_inbox_messages of INBOX's work
	// (newest first) and takes them out of pending.
	void move_inbox_head(imap::Client &client, RunContext &run, ImapFolder &inbox,
			     std::vector<PendingMessage> &pending, int64_t recent_since);
	// The work over several connections (folder-schedule.h): the
	// readers fetch, this thread saves and commits.
	void move_in_parallel(FolderReaders &readers, std::vector<ImapFolder> &folders,
			      std::vector<WorkItem> &work, std::vector<size_t> &remaining,
			      RunContext &run);
	[[noreturn]] static void throw_in_folder(const ImapFolder &folder, const Failure &failure);
	void check_cancel();

	ImapSource source_;
	MoveOptions options_;
	Store &store_;
	Logger &log_;
	CancelCheck cancel_;
	ProgressCallback on_progress_;
	FolderCallback on_folder_;
	StreamFactory connect_;
	std::string source_key_;
	MoveReport report_;
};

} // namespace mailmove::move
