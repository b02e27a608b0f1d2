#include "storage/dovecot-mailbox.h"

#include "base/failure.h"
#include "storage/dovecot-error.h"
#include "storage/dovecot-headers.h"
#include "storage/storage-driver.h"

#include <exception>
#include <strings.h>

namespace mailmove::storage {

namespace {

// How much of a body is handed to the save layer per read. The save
// consumes what it gets before asking again, so memory stays about this
// size whatever the message size.
constexpr size_t body_chunk = 64 * 1024;

// Feeds a ByteSource to Dovecot through istream-callback. Exceptions stop
// here: they are kept and rethrown after Dovecot's save call returned.
struct BodyFeed {
	ByteSource *source;
	struct istream *input = nullptr;
	std::exception_ptr error;
};

bool feed_body(buffer_t *buf, BodyFeed *feed)
{
	try {
		size_t old_used = buf->used;
		void *dest = buffer_append_space_unsafe(buf, body_chunk);
		size_t n = feed->source->read(static_cast<char *>(dest), body_chunk);
		buffer_set_used_size(buf, old_used + n);
		return n > 0;
	} catch (...) {
		feed->error = std::current_exception();
		i_stream_callback_set_error(feed->input, EIO,
					    "reading the message from the legacy server failed");
		return false;
	}
}

// Errors about the message alone let the move go on; anything else (I/O
// trouble, a broken mailbox) stops it.
bool is_refusal(enum mail_error code)
{
	switch (code) {
	case MAIL_ERROR_NOQUOTA:
	case MAIL_ERROR_PARAMS:
	case MAIL_ERROR_NOTPOSSIBLE:
	case MAIL_ERROR_LIMIT:
	case MAIL_ERROR_CONVERSION:
	case MAIL_ERROR_INVALIDDATA:
		return true;
	default:
		return false;
	}
}

enum mail_flags system_flag(const std::string &flag)
{
	static const struct {
		const char *name;
		enum mail_flags flag;
	} known[] = {
		{"\\Seen", MAIL_SEEN},	     {"\\Answered", MAIL_ANSWERED},
		{"\\Flagged", MAIL_FLAGGED}, {"\\Deleted", MAIL_DELETED},
		{"\\Draft", MAIL_DRAFT},
	};
	for (const auto &k : known) {
		if (strcasecmp(flag.c_str(), k.name) == 0)
			return k.flag;
	}
	return (enum mail_flags)0;
}

// Legacy flags as Dovecot takes them: system flags and a keyword list.
// Keywords the mailbox cannot store are set aside in rejected, since
// mailbox_keywords_create_valid() would drop them without a word.
class MailFlags {
public:
	MailFlags(struct mailbox *box, const std::vector<std::string> &legacy_flags)
	{
		std::vector<const char *> names;
		for (const std::string &flag : legacy_flags) {
			const char *error;
			if (flag.empty())
				continue;
			if (flag[0] == '\\')
				flags_ = (enum mail_flags)(flags_ | system_flag(flag));
			else if (mailbox_keyword_is_valid(box, flag.c_str(), &error))
				names.push_back(flag.c_str());
			else
				rejected.push_back(flag);
		}
		any_keywords_ = !names.empty();
		names.push_back(nullptr);
		keywords_ = mailbox_keywords_create_valid(box, names.data());
	}
	~MailFlags() { mailbox_keywords_unref(&keywords_); }
	MailFlags(const MailFlags &) = delete;
	MailFlags &operator=(const MailFlags &) = delete;

	enum mail_flags flags() const { return flags_; }
	// Never null: an empty list when there are no keywords
	// (mail_update_keywords() replaces with it).
	struct mail_keywords *keywords() const { return keywords_; }
	// Null when there are none, as saves have always been given them.
	struct mail_keywords *keywords_or_null() const
	{
		return any_keywords_ ? keywords_ : nullptr;
	}

	std::vector<std::string> rejected;

private:
	enum mail_flags flags_ = (enum mail_flags)0;
	bool any_keywords_ = false;
	struct mail_keywords *keywords_;
};

} // namespace

DovecotMailbox::DovecotMailbox(struct mailbox *box) : box_(box)
{
	read_state();
}

void DovecotMailbox::read_state()
{
	struct mailbox_status status;
	mailbox_get_open_status(
		box_, (enum mailbox_status_items)(STATUS_UIDVALIDITY | STATUS_UIDNEXT), &status);
	state_.uidvalidity = status.uidvalidity;
	state_.uidnext = status.uidnext;
}

void DovecotMailbox::rescan()
{
	DataStackFrame frame;
	/* maildir: a forced sync reads new/, cur/ and dovecot-uidlist. A
	   plain one can miss what a save killed inside its commit left
	   there: seen in test_crash, after kills the files and uidlist
	   entries of such a save were on disk, the sync at open did not
	   bring them into the index, and only the next save's sync did,
	   after recovery had looked, so the batch was saved twice. Other
	   storages keep no second list beside the index, and a forced sync
	   of theirs (dbox) rebuilds the whole storage: a plain one there. */
	bool force = mailmove_mailbox_is_maildir(box_);
	if (mailbox_sync(box_, force ? MAILBOX_SYNC_FLAG_FORCE_RESYNC
				     : (enum mailbox_sync_flags)0) < 0)
		fail("Syncing");
	read_state();
}

DovecotMailbox::~DovecotMailbox()
{
	mailbox_free(&box_);
}

void DovecotMailbox::fail(const std::string &what)
{
	throw_mailbox_error(box_, what);
}

DovecotSaves::~DovecotSaves()
{
	rollback();
}

move::SaveOutcome DovecotSaves::save(const move::MessageToSave &message, ByteSource &body)
{
	move::SaveOutcome outcome;
	DataStackFrame frame;
	if (trans_ == nullptr) {
		/* EXTERNAL: like dsync and doveadm import, not a user's
		   action; ASSIGN_UIDS: we need the new UIDs at commit. */
		trans_ = mailbox_transaction_begin(
			mailbox_.box_,
			(enum mailbox_transaction_flags)(MAILBOX_TRANSACTION_FLAG_EXTERNAL |
							 MAILBOX_TRANSACTION_FLAG_ASSIGN_UIDS),
			"mailmove");
	}

	MailFlags flags(mailbox_.box_, message.flags);
	outcome.rejected_keywords = std::move(flags.rejected);
	struct mail_save_context *save_ctx = mailbox_save_alloc(trans_);
	if (!message.guid.empty())
		mailbox_save_set_guid(save_ctx, message.guid.c_str());
	mailbox_save_set_flags(save_ctx, flags.flags(), flags.keywords_or_null());
	if (message.uid != 0)
		mailbox_save_set_uid(save_ctx, message.uid);
	if (!message.pop3_uidl.empty())
		mailbox_save_set_pop3_uidl(save_ctx, message.pop3_uidl.c_str());
	if (message.pop3_order != 0)
		mailbox_save_set_pop3_order(save_ctx, message.pop3_order);
	if (message.received_time != 0) {
		mailbox_save_set_received_date(save_ctx, message.received_time,
					       message.received_tz_offset_minutes);
	}

	BodyFeed feed{&body, nullptr, {}};
	struct istream *input = i_stream_create_callback(feed_body, &feed);
	/* istream-callback leaves max_buffer_size at 0, which the streams
	   the save layer stacks on it inherit: maildir's LF conversion would
	   then find no room and fail an assertion. */
	i_stream_set_max_buffer_size(input, 2 * body_chunk);
	feed.input = input;
	if (body.size_is_exact()) {
		/* A known size lets the quota plugin refuse the message
		   before it is written, which keeps the transaction usable. */
		struct istream *sized = i_stream_create_sized(input, body.size());
		i_stream_unref(&input);
		input = sized;
	}

	bool begin_failed = false, save_failed = false;
	std::string stream_error; // the body ended wrong (istream-sized)
	if (mailbox_save_begin(&save_ctx, input) < 0) {
		begin_failed = true;
	} else {
		ssize_t ret;
		while ((ret = i_stream_read(input)) > 0 || ret == -2) {
			if (mailbox_save_continue(save_ctx) < 0) {
				save_failed = true;
				break;
			}
		}
		if (input->stream_errno != 0 && !feed.error)
			stream_error = i_stream_get_error(input);
		if (feed.error || save_failed || input->stream_errno != 0)
			mailbox_save_cancel(&save_ctx);
		else if (mailbox_save_finish(&save_ctx) < 0)
			save_failed = true;
	}
	i_stream_unref(&input);

	if (feed.error)
		std::rethrow_exception(feed.error);
	if (!stream_error.empty()) {
		/* Not saved, so not done: the next run fetches it again. */
		throw Failure(FailureKind::temporary,
			      std::string("Saving a message into ") +
				      mailbox_get_vname(mailbox_.box_) + ": " + stream_error);
	}
	if (begin_failed || save_failed) {
		enum mail_error code;
		const char *error = mailbox_get_last_error(mailbox_.box_, &code);
		if (!is_refusal(code))
			mailbox_.fail("Saving a message into");
		/* Refused after the storage wrote it: Dovecot cannot commit
		   this transaction any more. */
		bool lost = save_failed;
		std::string why = error;
		if (lost)
			rollback();
		throw move::MessageRefused(why, lost);
	}
	pending_sizes_.push_back(body.size());
	return outcome;
}

void DovecotSaves::commit()
{
	if (trans_ == nullptr)
		return;
	DataStackFrame frame;
	struct mail_transaction_commit_changes changes;
	if (mailbox_transaction_commit_get_changes(&trans_, &changes) < 0)
		mailbox_.fail("Committing into");

	mailbox_.note_commit(changes);
	pool_unref(&changes.pool);

	/* One event per message now durable, for metric { } blocks
	   (event_name = mailmove_message_saved; fields bytes, folder). */
	struct mail_user *user = mail_storage_get_user(mailbox_get_storage(mailbox_.box_));
	for (uint64_t size : pending_sizes_) {
		struct event_passthrough *e = event_create_passthrough(user->event)
			->set_name("mailmove_message_saved")
			->add_int("bytes", size)
			->add_str("folder", mailbox_get_vname(mailbox_.box_));
		e_debug(e->event(), "Saved a message of %llu bytes into %s",
			(unsigned long long)size, mailbox_get_vname(mailbox_.box_));
	}
	pending_sizes_.clear();
}

void DovecotSaves::rollback() noexcept
{
	if (trans_ != nullptr)
		mailbox_transaction_rollback(&trans_);
	pending_sizes_.clear();
}

std::unique_ptr<move::TargetTransaction> DovecotMailbox::begin_saves()
{
	return std::make_unique<DovecotSaves>(*this);
}

void DovecotMailbox::note_commit(const struct mail_transaction_commit_changes &changes)
{
	state_.uidvalidity = changes.uid_validity;
	const struct seq_range *range;
	array_foreach(&changes.saved_uids, range) {
		if (range->seq2 + 1 > state_.uidnext)
			state_.uidnext = range->seq2 + 1;
	}
}

template <typename Fn>
void DovecotMailbox::for_each_mail(uint32_t first_uid, Fn &&fn)
{
	uint32_t seq1, seq2;

	mailbox_get_seq_range(box_, first_uid, (uint32_t)-1, &seq1, &seq2);
	if (seq1 == 0)
		return;

	struct mailbox_transaction_context *t =
		mailbox_transaction_begin(box_, (enum mailbox_transaction_flags)0, "mailmove");
	struct mail *mail = mail_alloc(t, (enum mail_fetch_field)0, nullptr);
	bool failed = false;
	for (uint32_t seq = seq1; seq <= seq2 && !failed; seq++) {
		mail_set_seq(mail, seq);
		/* expunged meanwhile: nothing to find there */
		if (!fn(mail) && !mail->expunged)
			failed = true;
	}
	mail_free(&mail);
	(void)mailbox_transaction_commit(&t);
	if (failed)
		fail("Reading messages of");
}

std::vector<move::TargetGuid> DovecotMailbox::guids_from_uid(uint32_t uid)
{
	DataStackFrame frame;
	std::vector<move::TargetGuid> guids;
	for_each_mail(uid, [&](struct mail *mail) {
		const char *guid;
		if (mail_get_special(mail, MAIL_FETCH_GUID, &guid) < 0)
			return false;
		guids.push_back({mail->uid, guid});
		return true;
	});
	return guids;
}

// Message-ID, virtual size and received date; false when the storage
// failed.
static bool read_content_identity(struct mail *mail, move::ContentIdentity &identity)
{
	const char *message_id;
	uoff_t size;
	time_t received;
	int ret = mail_get_first_header(mail, "Message-ID", &message_id);
	if (ret < 0 || mail_get_virtual_size(mail, &size) < 0 ||
	    mail_get_received_date(mail, &received) < 0)
		return false;
	if (ret > 0)
		identity.message_id = message_id;
	identity.size = size;
	identity.received_time = received;
	return true;
}

std::vector<move::ContentIdentity> DovecotMailbox::content_identities()
{
	DataStackFrame frame;
	std::vector<move::ContentIdentity> identities;
	for_each_mail(1, [&](struct mail *mail) {
		move::ContentIdentity identity;
		if (!read_content_identity(mail, identity))
			return false;
		identities.push_back(std::move(identity));
		return true;
	});
	return identities;
}

std::vector<move::TargetMessage> DovecotMailbox::messages_from_uid(uint32_t uid)
{
	DataStackFrame frame;
	std::vector<move::TargetMessage> messages;
	for_each_mail(uid, [&](struct mail *mail) {
		move::TargetMessage message;
		const char *guid;
		if (mail_get_special(mail, MAIL_FETCH_GUID, &guid) < 0 ||
		    !read_content_identity(mail, message.identity))
			return false;
		message.uid = mail->uid;
		message.guid = guid;
		messages.push_back(std::move(message));
		return true;
	});
	return messages;
}

/* Recovery's changes (flags, expunges) go in a normal transaction, not an
   EXTERNAL one: on maildir EXTERNAL changes only the index, and the next
   sync that reads the file names (which carry the flags and keyword
   letters) brings back what an interrupted save left there, e.g. letters
   its dovecot-keywords never got (unknown-N), or finds an expunged
   message's file again as new mail. */
struct mailbox_transaction_context *DovecotMailbox::begin_recovery()
{
	return mailbox_transaction_begin(box_, (enum mailbox_transaction_flags)0,
					 "mailmove recovery");
}

/* Synced right after the commit, not at whoever syncs next: a full read
   of maildir's cur/ before that (the next run's rescan()) takes what the
   file names still carry as a change made outside, and puts it back
   (seen in test_crash: unknown-N keywords again). A kill between the
   two leaves the change unrecorded, so the next run makes it again. */
void DovecotMailbox::commit_recovery(struct mailbox_transaction_context *&t,
				     const std::string &what)
{
	if (mailbox_transaction_commit(&t) < 0)
		fail(what);
	if (mailbox_sync(box_, (enum mailbox_sync_flags)0) < 0)
		fail("Syncing");
}

void DovecotMailbox::replace_flags(const std::vector<move::TargetFlags> &messages)
{
	DataStackFrame frame;
	struct mailbox_transaction_context *t = begin_recovery();
	struct mail *mail = mail_alloc(t, (enum mail_fetch_field)0, nullptr);
	for (const move::TargetFlags &message : messages) {
		if (!mail_set_uid(mail, message.uid))
			continue; /* expunged meanwhile */
		MailFlags flags(box_, message.flags);
		mail_update_flags(mail, MODIFY_REPLACE, flags.flags());
		mail_update_keywords(mail, MODIFY_REPLACE, flags.keywords());
	}
	mail_free(&mail);
	commit_recovery(t, "Setting flags in");
}

void DovecotMailbox::expunge(const std::vector<uint32_t> &uids)
{
	DataStackFrame frame;
	struct mailbox_transaction_context *t = begin_recovery();
	struct mail *mail = mail_alloc(t, (enum mail_fetch_field)0, nullptr);
	for (uint32_t uid : uids) {
		if (mail_set_uid(mail, uid))
			mail_expunge(mail);
	}
	mail_free(&mail);
	commit_recovery(t, "Expunging from");
}

bool DovecotMailbox::keep_uids(uint32_t uidvalidity)
{
	DataStackFrame frame;
	struct mailbox_status status;
	mailbox_get_open_status(box_, (enum mailbox_status_items)(STATUS_MESSAGES | STATUS_UIDNEXT),
				&status);
	if (status.messages != 0 || status.uidnext != 1)
		return false;
	struct mailbox_update update;
	i_zero(&update);
	update.uid_validity = uidvalidity;
	if (mailbox_update(box_, &update) < 0)
		fail("Setting UIDVALIDITY of");
	state_.uidvalidity = uidvalidity;
	return true;
}

} // namespace mailmove::storage
