#include "storage/dovecot-store.h"

#include "base/failure.h"
#include "base/text.h"
#include "storage/dovecot-error.h"
#include "storage/dovecot-headers.h"
#include "storage/dovecot-mailbox.h"

namespace mailmove::storage {

DovecotStore::DovecotStore(struct mail_user *user, SaveSync sync) : user_(user)
{
	if (sync == SaveSync::batch)
		batch_sync_ = std::make_unique<BatchSync>(user);
}

void DovecotStore::make_durable()
{
	if (batch_sync_)
		batch_sync_->sync();
}

// Every mailbox a move writes is in the user's own INBOX namespace: a
// name that Dovecot would resolve into a shared or public namespace is
// refused here, whatever the naming did before.
struct mailbox *DovecotStore::alloc(const std::string &name)
{
	struct mail_namespace *ns = mail_namespace_find(user_->namespaces, name.c_str());
	struct mail_namespace *own = mail_namespace_find_inbox(user_->namespaces);
	if (ns != own) {
		throw Failure(FailureKind::permanent,
			      "refusing to write \"" + printable_excerpt(name) +
				      "\": it is in the namespace \"" +
				      printable_excerpt(ns->prefix) +
				      "\", not the user's own");
	}
	return mailbox_alloc(ns->list, name.c_str(), (enum mailbox_flags)0);
}

std::vector<std::string> DovecotStore::foreign_namespace_prefixes()
{
	std::vector<std::string> prefixes;
	struct mail_namespace *own = mail_namespace_find_inbox(user_->namespaces);
	for (struct mail_namespace *ns = user_->namespaces; ns != nullptr; ns = ns->next) {
		if (ns != own && ns->prefix_len > 0)
			prefixes.emplace_back(ns->prefix);
	}
	return prefixes;
}

// Creates box unless it exists (a racing creator is fine). A name the
// storage cannot hold fails the same way every time: permanent.
static void create_if_missing(struct mailbox *box)
{
	enum mail_error code;
	if (mailbox_create(box, nullptr, false) < 0) {
		const char *error = mailbox_get_last_internal_error(box, &code);
		if (code == MAIL_ERROR_EXISTS)
			return;
		/* A missing parent that cannot be made is permanent here;
		   throw_mailbox_error() already says so of PARAMS. */
		if (code == MAIL_ERROR_NOTFOUND) {
			throw Failure(FailureKind::permanent, std::string("Creating ") +
								mailbox_get_vname(box) + ": " + error);
		}
		throw_mailbox_error(box, "Creating");
	}
}

std::unique_ptr<move::TargetMailbox> DovecotStore::open_mailbox(const std::string &name)
{
	DataStackFrame frame;
	struct mailbox *box = alloc(name);
	enum mail_error code;

	try {
		if (mailbox_open(box) < 0) {
			(void)mailbox_get_last_error(box, &code);
			if (code != MAIL_ERROR_NOTFOUND)
				throw_mailbox_error(box, "Opening");
			/* The installed 2.3 headers have no auto-create flag:
			   create explicitly. */
			create_if_missing(box);
			if (mailbox_open(box) < 0)
				throw_mailbox_error(box, "Opening");
		}
		/* See what other writers did before we look at UIDNEXT. */
		if (mailbox_sync(box, (enum mailbox_sync_flags)0) < 0)
			throw_mailbox_error(box, "Syncing");
	} catch (...) {
		mailbox_free(&box);
		throw;
	}
	return std::make_unique<DovecotMailbox>(box);
}

std::string DovecotStore::state_dir()
{
	DataStackFrame frame;
	struct mail_namespace *ns = mail_namespace_find_inbox(user_->namespaces);
	const char *path;

	if (!mailbox_list_get_root_path(ns->list, MAILBOX_LIST_PATH_TYPE_INDEX, &path) &&
	    !mailbox_list_get_root_path(ns->list, MAILBOX_LIST_PATH_TYPE_DIR, &path)) {
		throw Failure(FailureKind::permanent,
			      "the user's mail storage has no directory to keep "
			      "the move's checkpoint in (in-memory indexes?)");
	}
	/* A new user's mail root may not exist before the first save. */
	if (mailbox_list_mkdir_root(ns->list, path, MAILBOX_LIST_PATH_TYPE_INDEX) < 0) {
		throw Failure(FailureKind::temporary,
			      std::string("Creating the mail root ") + path + " failed");
	}
	return path;
}

char DovecotStore::hierarchy_separator()
{
	return mail_namespace_get_sep(mail_namespace_find_inbox(user_->namespaces));
}

std::string DovecotStore::namespace_prefix()
{
	return mail_namespace_find_inbox(user_->namespaces)->prefix;
}

std::string DovecotStore::special_use_mailbox(const std::string &attribute)
{
	DataStackFrame frame;
	/* From the namespace's mailbox { special_use } settings: the mailbox
	   need not exist yet (mailbox_alloc_for_user() finds only existing
	   ones), a new account gets its Sent, Drafts... with the first
	   message. */
	struct mail_namespace *ns = mail_namespace_find_inbox(user_->namespaces);
#ifdef MAILMOVE_DOVECOT_24
	/* 2.4: the namespace's mailbox filters, parsed, with special_use a
	   list. */
	if (!array_is_created(&ns->set->parsed_mailboxes))
		return "";
	const struct mailbox_settings *const *parsed;
	array_foreach(&ns->set->parsed_mailboxes, parsed) {
		if (!array_is_created(&(*parsed)->special_use))
			continue;
		const char *const *use;
		array_foreach(&(*parsed)->special_use, use) {
			if (strcasecmp(*use, attribute.c_str()) == 0)
				return mailbox_settings_get_vname(pool_datastack_create(), ns, *parsed);
		}
	}
	return "";
#else
	if (!array_is_created(&ns->set->mailboxes))
		return "";
	struct mailbox_settings *const *box_set;
	array_foreach(&ns->set->mailboxes, box_set) {
		const char *special_use = (*box_set)->special_use;
		if (special_use != nullptr &&
		    str_array_icase_find(t_strsplit_spaces(special_use, " "), attribute.c_str()))
			return std::string(ns->prefix) + (*box_set)->name;
	}
	return "";
#endif
}

// Maildir++ and imapdir keep a whole mailbox name in one directory entry
// (".Work.Projects"), so the file system's 255-byte limit is the name's,
// and '.' is their separator on disk whatever the namespace's is.
static bool one_entry_layout(struct mail_namespace *ns)
{
	return strcmp(mailbox_list_get_driver_name(ns->list), "maildir++") == 0 ||
	       strcmp(mailbox_list_get_driver_name(ns->list), "imapdir") == 0;
}

size_t DovecotStore::max_name_bytes()
{
	/* 255 minus the leading dot, and a little for Dovecot's own suffixes */
	return one_entry_layout(mail_namespace_find_inbox(user_->namespaces)) ? 250 : 0;
}

std::string DovecotStore::forbidden_chars()
{
	struct mail_namespace *ns = mail_namespace_find_inbox(user_->namespaces);
	return one_entry_layout(ns) && mail_namespace_get_sep(ns) != '.' ? "." : "";
}

void DovecotStore::ensure_mailbox(const std::string &name)
{
	DataStackFrame frame;
	struct mailbox *box = alloc(name);
	try {
		create_if_missing(box);
	} catch (...) {
		mailbox_free(&box);
		throw;
	}
	mailbox_free(&box);
}

void DovecotStore::subscribe(const std::string &name)
{
	DataStackFrame frame;
	struct mailbox *box = alloc(name);
	int ret = mailbox_set_subscribed(box, true);
	if (ret < 0) {
		try {
			throw_mailbox_error(box, "Subscribing to");
		} catch (...) {
			mailbox_free(&box);
			throw;
		}
	}
	mailbox_free(&box);
}

} // namespace mailmove::storage
