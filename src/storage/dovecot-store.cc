#include "storage/dovecot-store.h"

#include "base/failure.h"
#include "storage/dovecot-error.h"
#include "storage/dovecot-headers.h"
#include "storage/dovecot-mailbox.h"

namespace mailmove::storage {

DovecotStore::DovecotStore(struct mail_user *user) : user_(user)
{
}

struct mailbox *DovecotStore::alloc(const std::string &name)
{
	struct mail_namespace *ns = mail_namespace_find(user_->namespaces, name.c_str());
	return mailbox_alloc(ns->list, name.c_str(), (enum mailbox_flags)0);
}

// Creates box unless it exists (a racing creator is fine).
static void create_if_missing(struct mailbox *box)
{
	enum mail_error code;
	if (mailbox_create(box, nullptr, false) < 0) {
		(void)mailbox_get_last_error(box, &code);
		if (code != MAIL_ERROR_EXISTS)
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
	struct mailbox *box =
		mailbox_alloc_for_user(user_, attribute.c_str(), MAILBOX_FLAG_SPECIAL_USE);
	/* Without such a mailbox, Dovecot hands out a placeholder that has
	   no special-use. */
	std::string name = mailbox_has_special_use(box, attribute.c_str()) ? mailbox_get_vname(box)
									   : "";
	mailbox_free(&box);
	return name;
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
