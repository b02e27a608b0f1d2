#include "move/pop3-mover.h"


#include "base/failure.h"
#include "base/text.h"
#include "move/checkpoint.h"
#include "move/commit-intent.h"
#include "move/folder-writer.h"
#include "move/header-peek.h"
#include "move/identity.h"
#include "move/move-report.h"
#include "move/pop3-keys.h"
#include "move/received-date.h"
#include "source/oauth2-token.h"

#include <algorithm>
#include <map>
#include <unordered_map>

namespace mailmove::move {

namespace {

// POP3 knows one mailbox; the checkpoint and the target call it this.
constexpr const char *inbox = "INBOX";
// How much of a message's header is read for its date and digest.
constexpr size_t max_header_bytes = 256 * 1024;

// A POP3 INBOX has no UIDVALIDITY; its checkpoint record keeps in that
// place how its keys were made. Keys of one kind mean nothing in the
// other, so a server that switches between them must not be resumed. (A
// maildrop named by UIDL with a few content-named messages is by UIDL:
// those keys cannot be mistaken for UIDLs, see fallback_content_key().)
uint32_t checkpoint_code(Pop3Identity identity)
{
	return identity == Pop3Identity::content_digest ? 2 : 1;
}

// Courier's POP3 server marks a message read as soon as a session RETRieves
// it, QUIT or not; its CAPA says "IMPLEMENTATION Courier Mail Server".
bool is_courier(const pop3::Capabilities &capabilities)
{
	for (const std::string &word : capabilities.arguments("IMPLEMENTATION")) {
		if (to_lower(word).find("courier") != std::string::npos)
			return true;
	}
	return false;
}

} // namespace

const char *pop3_identity_name(Pop3Identity identity)
{
	switch (identity) {
	case Pop3Identity::unknown:
		return "unknown";
	case Pop3Identity::uidl:
		return "uidl";
	case Pop3Identity::content_digest:
		return "digest";
	case Pop3Identity::uidl_and_digest:
		return "uidl+digest";
	}
	return "unknown";
}

struct Pop3Mover::Message {
	uint32_t number = 0;
	uint64_t size = 0;
	// Empty when the server has no UIDL or this one is not RFC 1939's
	// (then it is never stored at the target).
	std::string uidl;
	std::string key;
};

// Receives RETR bodies and writes them through the INBOX's writer;
// commits whenever a batch is full.
class Pop3Mover::InboxWriter final : public pop3::RetrieveHandler {
public:
	InboxWriter(Pop3Mover &mover, FolderWriter &writer,
		    const std::unordered_map<uint32_t, const Message *> &by_number,
		    pop3::RetrieveCommand command)
		: mover_(mover), writer_(writer), by_number_(by_number),
		  saves_(writer.begin_saves()),
		  command_name_(command == pop3::RetrieveCommand::retr ? "RETR" : "TOP")
	{
	}

	void on_message(uint32_t number, ByteSource &body) override
	{
		const Message &m = *by_number_.at(number);
		try {
			save(m, body);
		} catch (const pop3::MessageTooLong &too_long) {
			/* Nothing of it was kept; the client drains the rest. */
			record_failure(m, too_long.what());
		} catch (const pop3::NotWhole &not_whole) {
			/* Nothing of it was kept: this server's TOP is not its
			   RETR. RETR only where it marks nothing read. */
			if (mover_.retr_marks_read_) {
				record_failure(m, std::string(not_whole.what()) +
							  "; not read with RETR, which this server "
							  "(Courier) answers by marking it read");
			} else {
				if (not_whole_.empty())
					mover_.log_.warning(std::string(not_whole.what()) +
							    ": reading with RETR instead");
				not_whole_.push_back(m.number);
			}
		}
		handled_.push_back(m.number);
	}

	bool wants_more() const override { return not_whole_.empty(); }

	// A retrieve() round with command begins.
	void start_round(pop3::RetrieveCommand command)
	{
		command_name_ = command == pop3::RetrieveCommand::retr ? "RETR" : "TOP";
		handled_.clear();
	}

	// After a NotWhole: the messages to read again with RETR (those TOP
	// got wrong and those not asked for yet); empty otherwise.
	std::vector<uint32_t> take_for_retr(const std::vector<pop3::RetrieveRequest> &requests)
	{
		std::vector<uint32_t> again;
		if (not_whole_.empty())
			return again;
		again = not_whole_;
		for (const pop3::RetrieveRequest &r : requests) {
			if (std::find(handled_.begin(), handled_.end(), r.number) == handled_.end())
				again.push_back(r.number);
		}
		not_whole_.clear();
		return again;
	}

	void save(const Message &m, ByteSource &body)
	{
		HeaderPeekSource peeked(body, max_header_bytes);
		MessageToSave message;
		message.guid = pop3_message_guid(mover_.source_key_, m.key);
		if (mover_.source_.mark_seen)
			message.flags.push_back("\\Seen");
		message.pop3_uidl = m.uidl;
		message.pop3_order = m.number;
		std::string_view header = peeked.peek_header();
		if (auto date = received_date_from_header(header)) {
			message.received_time = date->unix_time;
			message.received_tz_offset_minutes = date->tz_offset_minutes;
		}
		try {
			saves_->save(message, peeked);
		} catch (const MessageRefused &refused) {
			/* Only this message's problem; anything else (a broken
			   connection, failing storage) ends the run. */
			record_failure(m, std::string("the target refused it: ") + refused.what());
			if (refused.transaction_lost())
				lose_batch();
			return;
		}
		batch_numbers_.push_back(m.number);
		batch_.push_back({m.key, {first_header_field(header, "Message-ID"),
					  peeked.crlf_size(), message.received_time}});
		batch_bytes_ += m.size;
		if (batch_.size() >= mover_.source_.batch_max_messages ||
		    batch_bytes_ >= mover_.source_.batch_max_bytes)
			commit();
	}

	void on_refused(uint32_t number, const pop3::Reply &reply) override
	{
		handled_.push_back(number);
		record_failure(*by_number_.at(number),
			       std::string(command_name_) + " refused: " + pop3::refusal_excerpt(reply));
	}

	// Messages to retrieve again: a late refusal rolled them back.
	std::vector<uint32_t> take_retries()
	{
		std::vector<uint32_t> retries;
		retries.swap(retries_);
		return retries;
	}

	// Commits what was saved and records its keys as done.
	void commit()
	{
		if (batch_.empty())
			return;
		writer_.commit_keys(*saves_, batch_);
		MoveReport &report = mover_.report_;
		report.saved_now += batch_.size();
		report.progress.messages_done += batch_.size();
		report.progress.bytes_done += batch_bytes_;
		clear_batch();
		if (mover_.on_progress_)
			mover_.on_progress_(report.progress);
		mover_.report_status("moving");
	}

private:
	// The target rolled the open transaction back: what this batch had
	// saved is gone and is retrieved again.
	void lose_batch()
	{
		retries_.insert(retries_.end(), batch_numbers_.begin(), batch_numbers_.end());
		clear_batch();
	}

	void clear_batch()
	{
		batch_.clear();
		batch_numbers_.clear();
		batch_bytes_ = 0;
	}

	void record_failure(const Message &m, const std::string &why)
	{
		mover_.record_message_failure(m, why);
	}

	Pop3Mover &mover_;
	FolderWriter &writer_;
	const std::unordered_map<uint32_t, const Message *> &by_number_;
	std::unique_ptr<TargetTransaction> saves_;
	// Saved since the last commit: what, and their message numbers.
	std::vector<IntendedMessage> batch_;
	std::vector<uint32_t> batch_numbers_;
	uint64_t batch_bytes_ = 0;
	std::vector<uint32_t> retries_;
	std::vector<uint32_t> handled_;   // answered in this retrieve() round
	std::vector<uint32_t> not_whole_; // TOP gave them at another size
	const char *command_name_;
};

Pop3Mover::Pop3Mover(Pop3Source source, MoveOptions options, Store &store, Logger &log,
		     CancelCheck cancel, ProgressCallback on_progress,
		     Pop3StatusCallback on_status, StreamFactory connect)
	: source_(std::move(source)), options_(options), store_(store), log_(log),
	  cancel_(std::move(cancel)), on_progress_(std::move(on_progress)),
	  on_status_(std::move(on_status)), connect_(std::move(connect)),
	  /* Its own namespace in the checkpoint: an IMAP move of the same
	     account names its INBOX messages differently. */
	  source_key_("pop3:" + source_key(source_.url.host, source_.credentials.user))
{
	if (!connect_) {
		connect_ = [this]() {
			net::Endpoint endpoint{source_.url.host, source_.url.port,
					       source_.url.implicit_tls};
			return net::connect(endpoint, source_.tls, source_.client.timeouts, cancel_);
		};
	}
}

Pop3Mover::~Pop3Mover() = default;

std::unique_ptr<pop3::Client> Pop3Mover::open_session()
{
	source::refuse_password_login(source_.oauth2_only_provider,
				      !source_.credentials.oauth2_token.empty());
	auto client = std::make_unique<pop3::Client>(connect_(), log_, source_.client, cancel_);
	client->greeting();
	client->capa();
	if (source::start_tls_before_login(source_.url, source_.stls,
					   client->capabilities().has("STLS"), "mailmove_pop3_stls",
					   "STLS", log_))
		client->stls(source_.tls);
	/* RFC 6856: without it, Courier replaces every message with raw
	   8-bit header bytes by a "Cannot display Unicode content" notice. */
	retr_marks_read_ = is_courier(client->capabilities());
	if (client->utf8())
		log_.debug("The legacy server sends messages as they are (UTF8 accepted)");
	pop3::AuthMethod method = client->login(source_.credentials);
	log_.debug(std::string("Logged in with ") + pop3::auth_method_name(method) +
		   (client->is_tls() ? " over TLS" : " without TLS"));
	/* Capabilities may change after login (RFC 2449), PIPELINING too. */
	client->capa();
	return client;
}

std::vector<Pop3Mover::Message> Pop3Mover::list_messages(pop3::Client &client)
{
	std::vector<pop3::ListEntry> listing = client.list();
	std::optional<std::vector<pop3::UidlEntry>> uidls = client.uidl();
	if (!uidls && client.capabilities().has("UIDL")) {
		/* Not a server without UIDL: one that refuses this session
		   (Coremail's "Unsafe Login"). Identifying by content now
		   would make every later run refuse to continue. */
		throw Failure(FailureKind::permanent,
			      std::string("folder ") + inbox +
				      " could not be listed: the legacy server offers UIDL "
				      "but refused it");
	}
	identity_ = uidls ? Pop3Identity::uidl : Pop3Identity::content_digest;
	std::unordered_map<uint32_t, std::string> uidl_of;
	if (uidls) {
		for (pop3::UidlEntry &entry : *uidls)
			uidl_of[entry.number] = std::move(entry.uidl);
	} else {
		log_.warning("The legacy server has no UIDL: messages are identified by a digest "
			     "of their header and size, and users' POP3 clients will download "
			     "their mail again after the switch");
	}

	std::vector<Message> messages;
	std::vector<std::string> keys;
	for (const pop3::ListEntry &entry : listing) {
		Message m;
		m.number = entry.number;
		m.size = entry.size;
		if (uidls) {
			auto it = uidl_of.find(entry.number);
			std::string unusable;
			if (it == uidl_of.end()) {
				unusable = "missing from the UIDL listing";
			} else if (is_rfc1939_uidl(it->second)) {
				m.uidl = it->second;
				m.key = uidl_key(m.uidl);
			} else if (!identify_by_content(client, m, it->second)) {
				unusable = "its UIDL is not RFC 1939's and TOP is refused";
			}
			if (!unusable.empty()) {
				/* Not moved: counted, so the run is not synced. */
				report_.progress.messages_total++;
				report_.progress.bytes_total += m.size;
				record_message_failure(m, unusable);
				continue;
			}
		} else {
			std::optional<std::string> header = client.top_header(entry.number,
									      max_header_bytes);
			if (!header) {
				throw Failure(FailureKind::permanent,
					      "the legacy server supports neither UIDL nor TOP: its "
					      "messages cannot be told apart safely");
			}
			m.key = content_key(*header, entry.size);
		}
		keys.push_back(m.key);
		messages.push_back(std::move(m));
	}
	number_repeated_keys(keys);
	for (size_t i = 0; i < messages.size(); i++)
		messages[i].key = std::move(keys[i]);
	return messages;
}

void Pop3Mover::record_message_failure(const Message &m, const std::string &why)
{
	report_.progress.messages_failed++;
	std::string name = "message " + std::to_string(m.number);
	if (!m.uidl.empty())
		name += " (UIDL " + printable_excerpt(m.uidl, 80) + ")";
	log_.warning("INBOX: " + name + " not moved, tried again next run: " + why);
	job_report_->add("message-failed", {{"folder", inbox},
					    {"number", std::to_string(m.number)},
					    {"uidl", m.uidl},
					    {"size", std::to_string(m.size)},
					    {"reason", why}});
}

bool Pop3Mover::identify_by_content(pop3::Client &client, Message &m, const std::string &uidl)
{
	std::string shown = printable_excerpt(uidl, 80);
	std::optional<std::string> header = client.top_header(m.number, max_header_bytes);
	if (!header)
		return false;
	m.key = fallback_content_key(*header, m.size);
	identity_ = Pop3Identity::uidl_and_digest;
	log_.warning("INBOX: message " + std::to_string(m.number) + " has a UIDL that is not "
		     "RFC 1939's (" + shown + ", " + std::to_string(uidl.size()) +
		     " bytes): identified by a digest of its content, and stored without a UIDL");
	job_report_->add("uidl-invalid",
			 {{"folder", inbox},
			  {"number", std::to_string(m.number)},
			  {"uidl", shown},
			  {"length", std::to_string(uidl.size())},
			  {"reason", "message " + std::to_string(m.number) + ": UIDL of " +
					     std::to_string(uidl.size()) + " bytes is not RFC 1939's (" +
					     shown + "); identified by content, stored without UIDL"}});
	return true;
}

void Pop3Mover::report_status(const std::string &state)
{
	if (!on_status_)
		return;
	const Progress &p = report_.progress;
	Pop3InboxStatus status;
	status.folder.name = inbox;
	status.folder.legacy_name = inbox;
	status.folder.state = state;
	status.folder.messages_done = p.messages_done;
	status.folder.messages_total = p.messages_total;
	status.folder.bytes_done = p.bytes_done;
	status.folder.bytes_total = p.bytes_total;
	status.folder.messages_failed = p.messages_failed;
	status.identity = identity_;
	on_status_(status);
}

void Pop3Mover::move_inbox(pop3::Client &client, Checkpoint &checkpoint,
			   std::vector<Message> &messages)
{
	uint32_t code = checkpoint_code(identity_);
	uint32_t recorded = checkpoint.folder(inbox).uidvalidity;
	if (recorded != 0 && recorded != code) {
		throw Failure(FailureKind::permanent,
			      std::string("the legacy server identified messages by ") +
				      (recorded == 1 ? "UIDL" : "content digest") +
				      " before and now by " + pop3_identity_name(identity_) +
				      "; not moving again, to avoid duplicates");
	}
	std::function<std::string(const std::string &)> guid_of = [this](const std::string &key) {
		return pop3_message_guid(source_key_, key);
	};
	FolderWriter writer(store_, checkpoint, inbox, code, inbox, "pop3", log_);
	expunge_orphans(writer, guid_of);
	std::vector<std::string> keys;
	for (const Message &m : messages)
		keys.push_back(m.key);
	writer.recover_keys(keys, guid_of);

	std::vector<const Message *> pending = plan(client, writer, messages);
	std::unordered_map<uint32_t, const Message *> by_number;
	for (const Message *m : pending)
		by_number[m->number] = m;
	log_.debug(std::string(inbox) + ": " + std::to_string(messages.size()) + " message(s), " +
		   std::to_string(pending.size()) + " to move");
	if (on_progress_)
		on_progress_(report_.progress);
	report_status("moving");
	if (pending.empty())
		return;

	std::vector<pop3::RetrieveRequest> requests;
	for (const Message *m : pending)
		requests.push_back({m->number, m->size});
	pop3::RetrieveCommand command = retrieve_command(client);
	retr_sent_ = command == pop3::RetrieveCommand::retr;
	InboxWriter handler(*this, writer, by_number, command);
	/* Each round retrieves only what a late refusal rolled back; the
	   refused message itself waits for the next run, so this ends. */
	while (!requests.empty()) {
		handler.start_round(command);
		client.retrieve(requests, handler, command);
		handler.commit();
		std::vector<uint32_t> again = handler.take_for_retr(requests);
		requests.clear();
		if (!again.empty()) {
			command = pop3::RetrieveCommand::retr;
			retr_sent_ = true;
			job_report_->add("pop3-retrieval",
					 {{"folder", inbox},
					  {"command", "RETR"},
					  {"reason", "TOP did not give messages as LIST sized them: "
						     "read with RETR, which some servers answer by "
						     "marking them read"}});
		}
		for (uint32_t number : handler.take_retries())
			again.push_back(number);
		for (uint32_t number : again)
			requests.push_back({number, by_number.at(number)->size});
	}
}

void Pop3Mover::end_session(pop3::Client &client)
{
	/* RFC 1939 section 6: a session that ends without QUIT never enters
	   the UPDATE state. Servers that record reads then (Dovecot's
	   \Seen, GNU Mailutils' Status:) record nothing of our RETRs. */
	if (!retr_sent_) {
		client.quit();
		return;
	}
	log_.debug("Closing the legacy session without QUIT: it sent RETR, and servers "
		   "mark what was RETRieved read only at QUIT");
}

pop3::RetrieveCommand Pop3Mover::retrieve_command(pop3::Client &client)
{
	bool unmarked = client.can_read_unmarked();
	const char *retr_why = "the legacy server does not offer TOP: messages are read with "
			       "RETR, which some servers (Courier, Dovecot) answer by marking "
			       "them read";
	job_report_->add("pop3-retrieval",
			 {{"folder", inbox},
			  {"command", unmarked ? "TOP" : "RETR"},
			  {"reason", unmarked ? "messages read with TOP, which marks nothing read"
					      : retr_why}});
	if (unmarked)
		return pop3::RetrieveCommand::top_whole;
	log_.warning(retr_why);
	return pop3::RetrieveCommand::retr;
}

std::vector<const Pop3Mover::Message *> Pop3Mover::plan(pop3::Client &client,
							 const FolderWriter &writer,
							 const std::vector<Message> &messages)
{
	std::vector<const Message *> pending;
	std::map<std::string, uint64_t> filtered;
	for (const Message &m : messages) {
		bool done = writer.is_done(m.key);
		/* Like the IMAP mover: what the filters leave out is neither
		   counted nor done, so a wider filter later still moves it. */
		std::string reason = done ? "" : filter_reason(client, m);
		if (!reason.empty()) {
			filtered[reason]++;
			continue;
		}
		report_.progress.messages_total++;
		report_.progress.bytes_total += m.size;
		if (done) {
			report_.progress.messages_done++;
			report_.progress.bytes_done += m.size;
		} else {
			pending.push_back(&m);
		}
	}
	for (const auto &[reason, count] : filtered) {
		job_report_->add("filtered", {{"folder", inbox},
					      {"count", std::to_string(count)},
					      {"reason", reason}});
	}
	/* Newest first: the highest message number arrived last. The uid
	   order is the legacy order. */
	bool newest_first = options_.order != MoveOrder::uid;
	std::sort(pending.begin(), pending.end(), [newest_first](const Message *a, const Message *b) {
		return newest_first ? a->number > b->number : a->number < b->number;
	});
	return pending;
}

std::string Pop3Mover::filter_reason(pop3::Client &client, const Message &m)
{
	const MessageFilter &filter = options_.filter;
	int64_t date = 0; /* unknown: date bounds never exclude it */
	/* POP3 lists no dates: read the header only when a date bound is
	   set. */
	if (filter.since != 0 || filter.before != 0) {
		std::optional<std::string> header = client.top_header(m.number, max_header_bytes);
		std::optional<ReceivedDate> received =
			header ? received_date_from_header(*header) : std::nullopt;
		date = received ? received->unix_time : 0;
	}
	return filter.reject_reason(date, m.size, {});
}

void Pop3Mover::expunge_orphans(FolderWriter &writer,
				const std::function<std::string(const std::string &)> &guid_of)
{
	size_t expunged = writer.expunge_orphans(
		[&writer](const std::string &key) { return writer.is_done(key); }, guid_of);
	if (expunged > 0) {
		log_.info("INBOX: expunged " + std::to_string(expunged) +
			  " message(s) that an interrupted commit left without their identity; "
			  "they are moved again");
	}
}

MoveReport Pop3Mover::run()
{
	MoveLock lock(store_.state_dir(), options_.lock_wait_ms, cancel_);
	Checkpoint checkpoint(store_.state_dir(), source_key_);
	job_report_ = std::make_unique<ReportWriter>(store_.state_dir());
	job_report_->add_run(source_.url.to_string(), options_);
	std::unique_ptr<pop3::Client> client = open_session();

	report_.progress.folders_total = 1;
	std::vector<Message> messages = list_messages(*client);
	/* What an admin must know: without UIDLs the users' POP3 clients
	   cannot recognise their mail after the switch. */
	job_report_->add("pop3-identity", {{"folder", inbox},
					   {"identity", pop3_identity_name(identity_)}});
	move_inbox(*client, checkpoint, messages);
	report_.progress.folders_done = 1;
	if (on_progress_)
		on_progress_(report_.progress);
	report_status("done");
	end_session(*client);
	return report_;
}

std::vector<PlannedFolder> Pop3Mover::survey()
{
	std::unique_ptr<pop3::Client> client = open_session();
	PlannedFolder folder;
	folder.legacy_name = inbox;
	folder.target_name = inbox;
	folder.messages = client->stat().messages;
	client->quit();
	return {folder};
}

} // namespace mailmove::move
