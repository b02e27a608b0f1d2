// Moves a user's legacy POP3 maildrop into the target INBOX (POP3 has no
// other folders): log in, list the messages with their UIDLs, skip what
// the checkpoint says is there and what the move's filters leave out, and
// RETR the rest newest first (highest message number first; the uid order
// is the legacy order) straight into the store, committing and
// checkpointing batch by batch. Nothing at the legacy side changes: no
// DELE, no RSET, and QUIT with nothing marked deleted; messages are read
// with "TOP n <lines>" rather than RETR where the server offers TOP, since
// servers such as Courier mark what a session RETRieves as read. A TOP
// reply not of the LIST size is never stored: the rest is read with RETR
// and the session ends without QUIT (no UPDATE state), except at Courier,
// which marks read at RETR: there those messages fail.
//
// Every saved message carries its legacy UIDL and message number
// (mailbox_save_set_pop3_uidl/_order), so Dovecot's POP3 server presents
// the same UIDLs in the same order after the switch and the users' POP3
// clients see nothing new.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/cancel.h"
#include "base/logger.h"
#include "base/progress.h"
#include "move/mover.h"
#include "move/store.h"
#include "net/stream.h"
#include "pop3/client.h"
#include "source/source-url.h"

namespace mailmove::move {

class Checkpoint;
class FolderWriter;
class ReportWriter;

struct Pop3Source {
	source::SourceUrl url;
	pop3::Credentials credentials; // the password is never logged
	TlsUpgrade stls = TlsUpgrade::required;
	net::TlsOptions tls;
	pop3::ClientOptions client;
	// POP3 has no flags: messages land unseen unless this says \Seen.
	bool mark_seen = false;
	// The preset's title when it accepts only OAuth2 (Microsoft 365):
	// then a login without a token is refused before connecting.
	std::string oauth2_only_provider;
	// A commit (and checkpoint record) after this many messages or bytes.
	unsigned batch_max_messages = 100;
	uint64_t batch_max_bytes = 16 * 1024 * 1024;
};

// How the legacy messages are named in the checkpoint.
enum class Pop3Identity {
	unknown, // not listed yet
	uidl,
	// The server has no UIDL: named by a digest of header and size. The
	// users' POP3 clients cannot keep their state across the switch.
	content_digest,
	// By UIDL, except messages whose UIDL is not RFC 1939's (0x21-0x7E,
	// 1 to 70 characters): those are named by a content digest (keys of
	// their own, see fallback_content_key()) and stored without a UIDL.
	uidl_and_digest,
};
const char *pop3_identity_name(Pop3Identity identity);

// The INBOX's progress as a FOLDER line shows it, with how its messages
// are identified (an admin must know when it is not by UIDL).
struct Pop3InboxStatus {
	FolderProgress folder;
	Pop3Identity identity = Pop3Identity::unknown;
};
using Pop3StatusCallback = std::function<void(const Pop3InboxStatus &)>;

class Pop3Mover {
public:
	// connect defaults to net::connect() to source.url; tests pass a fake.
	Pop3Mover(Pop3Source source, MoveOptions options, Store &store, Logger &log,
		  CancelCheck cancel, ProgressCallback on_progress,
		  Pop3StatusCallback on_status = {}, StreamFactory connect = {});
	~Pop3Mover();

	// Throws mailmove::Failure; whatever was committed stays
	// checkpointed, so the next run continues from there. A message the
	// legacy server or the target refuses is logged, put in the job
	// report (move-report.h), counted in messages_failed and tried again
	// by the next run.
	MoveReport run();
	// Logs in and counts the maildrop; changes nothing.
	std::vector<PlannedFolder> survey();

	Pop3Identity identity() const { return identity_; }

private:
	struct Message;
	class InboxWriter;

	std::unique_ptr<pop3::Client> open_session();
	std::vector<Message> list_messages(pop3::Client &client);
	void move_inbox(pop3::Client &client, Checkpoint &checkpoint,
			std::vector<Message> &messages);
	// The messages to move now, in the order to move them; counts the
	// rest into the progress and the filtered ones into the job report.
	std::vector<const Message *> plan(pop3::Client &client, const FolderWriter &writer,
					  const std::vector<Message> &messages);
	// Names m by a digest of its header (TOP) and size, for a UIDL that
	// is not RFC 1939's; reports it. False when TOP is refused.
	bool identify_by_content(pop3::Client &client, Message &m, const std::string &uidl);
	// TOP when the server offers it (see pop3::RetrieveCommand); says
	// which in the job report.
	pop3::RetrieveCommand retrieve_command(pop3::Client &client);
	// QUIT, unless RETR was sent: then the connection is just closed.
	void end_session(pop3::Client &client);
	// Why the move's filters leave m out; empty when they do not.
	std::string filter_reason(pop3::Client &client, const Message &m);
	void expunge_orphans(FolderWriter &writer,
			     const std::function<std::string(const std::string &)> &guid_of);
	void report_status(const std::string &state);
	// A message not moved by this run: logged, in the job report,
	// counted in messages_failed; the next run tries it again.
	void record_message_failure(const Message &m, const std::string &why);

	Pop3Source source_;
	MoveOptions options_;
	Store &store_;
	Logger &log_;
	CancelCheck cancel_;
	ProgressCallback on_progress_;
	Pop3StatusCallback on_status_;
	StreamFactory connect_;
	std::string source_key_;
	Pop3Identity identity_ = Pop3Identity::unknown;
	// Courier: RETR marks read at once, so it is never sent there
	// in place of a TOP that is not byte-exact.
	bool retr_marks_read_ = false;
	// The session sent RETR: it ends without QUIT (see end_session()).
	bool retr_sent_ = false;
	MoveReport report_;
	std::unique_ptr<ReportWriter> job_report_;
};

} // namespace mailmove::move
