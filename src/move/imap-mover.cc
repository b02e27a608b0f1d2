#include "move/imap-mover.h"

#include "base/failure.h"
#include "base/text.h"
#include "imap/body-source.h"
#include "move/checkpoint.h"
#include "move/folder-readers.h"
#include "move/folder-schedule.h"
#include "move/identity.h"
#include "move/imap-folder.h"
#include "move/imap-session.h"
#include "move/move-report.h"
#include "names/role.h"

#include <algorithm>
#include <atomic>
#include <climits>
#include <set>
#include <ctime>

namespace mailmove::move {

namespace {

/* Of INBOX's newest messages moved first, this many are committed before
   the next are asked for: what a user who has just switched sees first
   (a mail client's first screens) is there after about 100 saves, not
   after the 150 that batches of 10, 20, 40 and 80 take to pass it. */
constexpr size_t inbox_first_part = 100;

const names::Role special_use_roles[] = {
	names::Role::sent,  names::Role::drafts, names::Role::trash,     names::Role::junk,
	names::Role::archive, names::Role::all,  names::Role::flagged,   names::Role::important,
};

std::vector<names::LegacyMailbox> legacy_mailboxes(imap::Client &client)
{
	std::vector<names::LegacyMailbox> legacy;
	for (const imap::ListedMailbox &listed : client.list_mailboxes())
		legacy.push_back({listed.name, listed.separator, listed.attributes, listed.subscribed});
	return legacy;
}

std::vector<names::Namespace> personal_namespaces(imap::Client &client)
{
	std::vector<names::Namespace> namespaces;
	if (auto listed = client.personal_namespaces()) {
		for (const imap::Namespace &ns : *listed)
			namespaces.push_back({ns.prefix, ns.separator});
	}
	return namespaces;
}

// Whether a folder with mail is moved somewhere below target_name: then
// the target lists target_name as their parent by itself (Dovecot shows
// \Noselect or \NonExistent with \HasChildren) and it need not exist.
bool has_moved_descendant(const std::vector<names::MappedFolder> &mapped,
			  const std::string &target_name, char separator)
{
	std::string below = target_name + separator;
	return std::any_of(mapped.begin(), mapped.end(), [&](const names::MappedFolder &m) {
		return m.selectable && m.skip_reason.empty() && m.target_name.rfind(below, 0) == 0;
	});
}

} // namespace

ImapMover::ImapMover(ImapSource source, MoveOptions options, Store &store, Logger &log,
		     CancelCheck cancel, ProgressCallback on_progress, StreamFactory connect)
	: source_(std::move(source)), options_(std::move(options)), store_(store), log_(log),
	  cancel_(std::move(cancel)), on_progress_(std::move(on_progress)),
	  connect_(std::move(connect)), source_key_(source_key(source_.url.host, source_.login))
{
}

std::vector<names::MappedFolder> ImapMover::map_legacy_folders(imap::Client &client,
							       const Checkpoint *checkpoint)
{
	names::MappingOptions mapping = options_.mapping;
	mapping.target_separator = store_.hierarchy_separator();
	mapping.target_prefix = store_.namespace_prefix();
	mapping.foreign_prefixes = store_.foreign_namespace_prefixes();
	if (size_t limit = store_.max_name_bytes(); limit != 0)
		mapping.max_name_bytes = std::min(mapping.max_name_bytes, limit);
	mapping.target_forbidden_chars += store_.forbidden_chars();
	for (names::Role role : special_use_roles) {
		std::string target = store_.special_use_mailbox(names::role_attribute(role));
		if (!target.empty())
			mapping.special_use_targets[role] = target;
	}
	/* A folder keeps the target an earlier run gave it. */
	if (checkpoint != nullptr) {
		for (const auto &[legacy, record] : checkpoint->folders()) {
			if (!record.target_mailbox.empty())
				mapping.pinned_targets[legacy] = record.target_mailbox;
		}
	}
	return names::map_folders(legacy_mailboxes(client), personal_namespaces(client), mapping);
}

// Tells the report what was renamed or skipped, and puts in tree what
// holds no mail (plain parents) and the subscriptions, for carry_over().
// Returns the folders with mail to move.
std::vector<ImapFolder> ImapMover::prepare_folders(const std::vector<names::MappedFolder> &mapped,
						   ReportWriter &report, TargetTree &tree)
{
	std::vector<ImapFolder> folders;
	for (const names::MappedFolder &m : mapped) {
		const char *role = names::role_attribute(m.role);
		if (!m.skip_reason.empty()) {
			log_.info("Not moving folder " + m.display_name + ": " + m.skip_reason);
			report.add("folder-skipped", {{"legacy", m.raw_name},
						      {"display", m.display_name},
						      {"reason", m.skip_reason}});
			continue;
		}
		for (const std::string &note : m.notes) {
			report.add("folder", {{"legacy", m.raw_name},
					      {"display", m.display_name},
					      {"target", m.target_name},
					      {"role", role == nullptr ? "" : role},
					      {"note", note}});
		}
		if (!m.selectable) {
			/* a plain parent: holds no mail, done; created only when
			   the target would not list it (no folder below it), so
			   it does not become a selectable mailbox */
			if (!has_moved_descendant(mapped, m.target_name, store_.hierarchy_separator()))
				tree.parents.emplace_back(m.target_name, m.raw_name);
			else
				/* nothing to create: done now */
				report_parent_done(m.target_name, m.raw_name);
		} else
			folders.emplace_back(source_key_, m.raw_name, m.target_name);
		if (m.subscribed)
			tree.subscriptions.push_back(m.target_name);
	}
	return folders;
}

void ImapMover::carry_over(const TargetTree &tree)
{
	for (const auto &[target, legacy] : tree.parents) {
		store_.ensure_mailbox(target);
		report_parent_done(target, legacy);
	}
	for (const std::string &name : tree.subscriptions)
		store_.subscribe(name);
}

void ImapMover::report_parent_done(const std::string &target, const std::string &legacy)
{
	if (!on_folder_)
		return;
	FolderProgress parent;
	parent.name = target;
	parent.legacy_name = legacy;
	parent.state = "done";
	on_folder_(parent);
}

MoveReport ImapMover::run()
{
	MoveLock lock(store_.state_dir(), options_.lock_wait_ms, cancel_);
	Checkpoint checkpoint(store_.state_dir(), source_key_);
	ReportWriter report(store_.state_dir());
	/* The session may be handed to a reader thread later (folder-
	   readers.h): from then on it logs through the readers' queue and
	   asks only their stop flag, never cancel_ (the caller's thread's). */
	std::atomic<bool> readers_stop{false};
	HandOverLogger session_log(log_);
	CancelCheck session_cancel = [&]() {
		if (session_log.handed())
			return readers_stop.load();
		return cancel_ && cancel_();
	};
	std::unique_ptr<imap::Client> client =
		open_imap_session(source_, session_log, session_cancel, connect_);
	try {
		move_all(client, session_log, readers_stop, checkpoint, report);
	} catch (const Failure &failure) {
		/* A throttle answer to any command after the login, on any
		   of the move's connections: the run stops and waits the
		   provider's backoff. */
		throw_if_throttled(source_, failure);
		throw;
	}
	if (client != nullptr) /* else the readers logged it out */
		client->logout();
	return report_;
}

void ImapMover::move_all(std::unique_ptr<imap::Client> &client, HandOverLogger &session_log,
			 std::atomic<bool> &readers_stop, Checkpoint &checkpoint,
			 ReportWriter &report)
{
	report.add_run(source_.url.to_string(), options_);
	RunContext run{store_,	 checkpoint,  report,  log_,
		       options_, source_key_, report_, on_progress_,
		       on_folder_};

	TargetTree tree;
	std::vector<ImapFolder> folders =
		prepare_folders(map_legacy_folders(*client, &checkpoint), report, tree);
	/* A folder the listing hid is a folder not moved. */
	for (const std::string &entry : client->unreadable_list_entries()) {
		record_folder_failure(entry, "",
				      "the legacy server listed it in a form that cannot be read",
				      FailureKind::permanent, report);
	}
	report_.progress.folders_total = folders.size();

	size_t inbox = SIZE_MAX;
	for (size_t i = 0; i < folders.size(); i++) {
		if (folders[i].target_name() == "INBOX")
			inbox = i;
	}
	std::vector<std::vector<PendingMessage>> pending(folders.size());
	auto survey = [&](size_t i) {
		check_cancel();
		try {
			folders[i].survey(*client, run);
		} catch (const Cancelled &) {
			throw;
		} catch (const Failure &failure) {
			/* The provider throttles: no folder is at fault. */
			throw_if_throttled(source_, failure);
			/* One folder the server will not open (EXAMINE refused)
			   or the target cannot hold (a name its layout
			   refuses...) must not keep the others from moving; a
			   broken session ends the run. */
			if (!client->usable())
				throw;
			folder_failed(folders[i], failure, report);
		}
		pending[i] = folders[i].take_pending();
		if (on_folder_)
			on_folder_(folders[i].progress());
	};
	int64_t now = options_.now != 0 ? options_.now : int64_t(time(nullptr));
	int64_t recent_since = now - int64_t(options_.recent_days) * 86400;

	/* INBOX's newest mail is moved before the other folders are
	   surveyed; everything else is surveyed before the rest moves, so
	   the totals are known early and the order can span folders. */
	if (inbox != SIZE_MAX) {
		try {
			survey(inbox);
			move_inbox_head(*client, run, folders[inbox], pending[inbox],
					recent_since);
		} catch (...) {
			/* The target's tree does not depend on the session; a
			   failure to make it is logged, the first one ends the run. */
			try {
				carry_over(tree);
			} catch (const std::exception &error) {
				log_.error(std::string("Folders and subscriptions: ") + error.what());
			}
			throw;
		}
	}
	/* after INBOX's newest: what a user sees first waits for none of it */
	carry_over(tree);
	for (size_t i = 0; i < folders.size(); i++) {
		if (i != inbox)
			survey(i);
	}
	std::vector<size_t> remaining(folders.size(), 0);
	std::vector<WorkItem> work =
		order_work(std::move(pending), inbox, options_.order, recent_since);
	for (const WorkItem &item : work)
		remaining[item.folder]++;
	for (size_t i = 0; i < folders.size(); i++) {
		if (remaining[i] == 0)
			folder_finished(folders[i]);
	}
	run.progress_changed();

	std::set<size_t> folders_with_work;
	for (const WorkItem &item : work)
		folders_with_work.insert(item.folder);
	unsigned connections = folder_connections(options_.folder_connections, 0,
						  folders_with_work.size());
	if (connections > 1) {
		log_.debug("Moving " + std::to_string(folders_with_work.size()) +
			   " folder(s) over " + std::to_string(connections) + " connections");
		FolderReaders readers(std::move(client), session_log, readers_stop, connections,
				      [this](Logger &log, const CancelCheck &cancel) {
					      return open_imap_session(source_, log, cancel,
								       connect_);
				      });
		move_in_parallel(readers, folders, work, remaining, run);
		readers.finish();
		return;
	}

	for (WorkItem &item : work) {
		check_cancel();
		ImapFolder &folder = folders[item.folder];
		try {
			folder.move(*client, run, item.messages);
		} catch (const Cancelled &) {
			throw;
		} catch (const Failure &failure) {
			throw_in_folder(folder, failure);
		}
		item.messages = {}; /* moved: what is left to do is all it holds */
		if (--remaining[item.folder] == 0)
			folder_finished(folder);
	}
}

void ImapMover::throw_in_folder(const ImapFolder &folder, const Failure &failure)
{
	/* The session may be unusable now: the run ends, and says which
	   folder it was in. */
	throw Failure(failure.kind(),
		      "folder " + printable_excerpt(folder.legacy_name()) + ": " + failure.what());
}

void ImapMover::move_inbox_head(imap::Client &client, RunContext &run, ImapFolder &inbox,
				std::vector<PendingMessage> &pending, int64_t recent_since)
{
	if (options_.order != MoveOrder::newest_first || options_.first_inbox_messages == 0 ||
	    pending.empty())
		return;
	/* Ordered in place, not copied (INBOX may list 100,000 messages):
	   the head is the front of the first step, and what is left goes
	   back into pending for the run's order of everything. */
	std::vector<std::vector<PendingMessage>> inbox_only;
	inbox_only.push_back(std::move(pending));
	std::vector<WorkItem> work =
		order_work(std::move(inbox_only), 0, options_.order, recent_since);
	std::vector<PendingMessage> &first = work.front().messages;
	size_t head_size = std::min(first.size(), options_.first_inbox_messages);
	std::vector<PendingMessage> head(first.begin(), first.begin() + head_size);
	first.erase(first.begin(), first.begin() + head_size);
	pending = std::move(first);
	for (size_t i = 1; i < work.size(); i++)
		pending.insert(pending.end(), work[i].messages.begin(), work[i].messages.end());
	work = {};
	check_cancel();
	try {
		inbox.move(client, run, head, inbox_first_part);
	} catch (const Cancelled &) {
		throw;
	} catch (const Failure &failure) {
		throw_in_folder(inbox, failure);
	}
}

void ImapMover::move_in_parallel(FolderReaders &readers, std::vector<ImapFolder> &folders,
				 std::vector<WorkItem> &work, std::vector<size_t> &remaining,
				 RunContext &run)
{
	std::vector<size_t> item_folders;
	for (const WorkItem &item : work)
		item_folders.push_back(item.folder);
	FolderSchedule schedule(item_folders);
	struct Current {
		size_t item = 0;
		std::unique_ptr<FolderMove> move;
	};
	std::vector<Current> current(readers.count());

	for (;;) {
		while (std::optional<size_t> reader = readers.idle_reader()) {
			std::optional<size_t> item = schedule.take();
			if (!item)
				break;
			ImapFolder &folder = folders[work[*item].folder];
			current[*reader].item = *item;
			current[*reader].move = std::make_unique<FolderMove>(folder, run);
			readers.assign(*reader, {folder.legacy_name(),
						 current[*reader].move->requests(work[*item].messages)});
			work[*item].messages = {}; /* the reader has them now */
		}
		if (schedule.all_done())
			return;
		check_cancel();
		std::optional<ReaderEvent> event = readers.next(250, log_);
		if (!event)
			continue;
		Current &on = current[event->reader];
		switch (event->kind) {
		case ReaderEvent::Kind::ready:
			break;
		case ReaderEvent::Kind::unavailable:
			/* A provider that throttles refuses the extra login:
			   the whole run stops and waits its backoff, as it
			   would for the first connection. */
			if (event->error) {
				try {
					std::rethrow_exception(event->error);
				} catch (const source::Throttled &) {
					throw;
				} catch (const Failure &failure) {
					throw_if_throttled(source_, failure);
				} catch (...) {
				}
			}
			log_.warning("An extra connection to the legacy server could not be opened (" +
				     event->text + "); the move goes on with fewer");
			if (readers.usable() == 0)
				throw Failure(FailureKind::temporary, "no legacy connection is left");
			break;
		case ReaderEvent::Kind::failed:
			try {
				std::rethrow_exception(event->error);
			} catch (const Cancelled &) {
				throw;
			} catch (const Failure &failure) {
				throw_in_folder(folders[work[on.item].folder], failure);
			}
			break;
		case ReaderEvent::Kind::batch_sent:
			on.move->handler().on_batch_sent(event->batch, event->uids);
			break;
		case ReaderEvent::Kind::body:
			if (event->body_stream != nullptr) {
				on.move->handler().on_body(event->batch, event->uid,
							   *event->body_stream);
				readers.release(event->reader);
			} else {
				imap::StringSource body(std::move(event->text));
				on.move->handler().on_body(event->batch, event->uid, body);
			}
			break;
		case ReaderEvent::Kind::body_refused:
			on.move->handler().on_body_refused(event->batch, event->uid, event->text);
			break;
		case ReaderEvent::Kind::batch_done:
			on.move->handler().on_batch_done(event->batch, event->uids, event->missing);
			break;
		case ReaderEvent::Kind::finished: {
			std::vector<imap::BodyRequest> retries = on.move->take_retries();
			ImapFolder &folder = folders[work[on.item].folder];
			if (!retries.empty()) {
				readers.assign(event->reader, {folder.legacy_name(), retries});
				break;
			}
			on.move.reset();
			schedule.finish(on.item);
			if (--remaining[work[on.item].folder] == 0)
				folder_finished(folder);
			break;
		}
		}
	}
}

void ImapMover::record_folder_failure(const std::string &legacy_name,
				      const std::string &target_name, const std::string &reason,
				      FailureKind kind, ReportWriter &report)
{
	log_.error("Folder " + printable_excerpt(legacy_name) + " is not moved: " + reason);
	report.add("folder-failed",
		   {{"legacy", legacy_name}, {"target", target_name}, {"reason", reason}});
	report_.progress.folders_failed++;
	report_.failed_folders.push_back({legacy_name, reason, kind});
}

void ImapMover::folder_failed(ImapFolder &folder, const Failure &failure, ReportWriter &report)
{
	record_folder_failure(folder.legacy_name(), folder.target_name(), failure.what(),
			      failure.kind(), report);
	FolderProgress &progress = folder.progress();
	progress.state = "failed";
	progress.messages_failed = folder.legacy_count();
	report_.progress.messages_failed += progress.messages_failed;
	folder.forget_pending();
}

void ImapMover::folder_finished(ImapFolder &folder)
{
	if (folder.progress().state == "failed")
		return; /* told already, counted in folders_failed */
	folder.progress().state = "done";
	report_.progress.folders_done++;
	if (on_folder_)
		on_folder_(folder.progress());
	if (on_progress_)
		on_progress_(report_.progress);
}

void ImapMover::check_cancel()
{
	if (cancel_ && cancel_())
		throw Cancelled();
}

std::vector<PlannedFolder> ImapMover::survey()
{
	std::unique_ptr<imap::Client> client =
		open_imap_session(source_, log_, cancel_, connect_);
	try {
		return plan(*client);
	} catch (const Failure &failure) {
		throw_if_throttled(source_, failure);
		throw;
	}
}

std::vector<PlannedFolder> ImapMover::plan(imap::Client &client)
{
	std::vector<PlannedFolder> planned;
	for (const names::MappedFolder &m : map_legacy_folders(client, nullptr)) {
		if (m.raw_name.empty())
			continue; /* a parent only a rule implies */
		PlannedFolder folder;
		folder.legacy_name = m.display_name;
		folder.target_name = m.target_name;
		const char *role = names::role_attribute(m.role);
		folder.role = role == nullptr ? "" : role;
		folder.skip_reason = m.skip_reason;
		if (!m.selectable && folder.skip_reason.empty())
			folder.skip_reason = "holds no mail (\\Noselect): created as a plain parent";
		if (m.selectable && m.skip_reason.empty())
			folder.messages = client.examine(m.raw_name).exists;
		planned.push_back(folder);
	}
	client.logout();
	return planned;
}

} // namespace mailmove::move
