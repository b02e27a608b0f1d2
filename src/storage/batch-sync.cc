#include "storage/batch-sync.h"

#include "base/failure.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/dovecot-headers.h"

namespace mailmove::storage {

namespace {

// The nearest existing directory at or above path: a new user's mail
// root may not exist before the first save, but its parent's file
// system is the one it will be made on.
UniqueFd open_existing_dir(std::string path)
{
	for (;;) {
		UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
		if (fd || errno != ENOENT)
			return fd;
		size_t slash = path.find_last_of('/');
		if (slash == std::string::npos || path == "/")
			return UniqueFd();
		path = slash == 0 ? "/" : path.substr(0, slash);
	}
}

} // namespace

BatchSync::BatchSync(struct mail_user *user) : user_(user)
{
#ifndef MAILMOVE_DOVECOT_24
	/* Dovecot reads the mode from the namespace's storage settings when
	   it opens a mailbox (and its index): changed here, before the move
	   opens any, it applies to all of the move's writes. The settings
	   are the user's own copy, and restored when the move ends (the
	   worker's notice to the user is saved as configured). */
	for (struct mail_namespace *ns = user->namespaces; ns != nullptr; ns = ns->next) {
		auto *set = const_cast<struct mail_storage_settings *>(ns->mail_set);
		if (set == nullptr || set->parsed_fsync_mode == FSYNC_MODE_NEVER)
			continue;
		bool seen = false;
		for (const auto &entry : overridden_)
			seen = seen || entry.first == set;
		if (seen)
			continue;
		overridden_.emplace_back(set, int(set->parsed_fsync_mode));
		set->parsed_fsync_mode = FSYNC_MODE_NEVER;
	}
#endif
}

BatchSync::~BatchSync()
{
	for (auto it = overridden_.rbegin(); it != overridden_.rend(); ++it)
		it->first->parsed_fsync_mode = (enum fsync_mode)it->second;
}

std::vector<std::pair<UniqueFd, std::string>> BatchSync::open_roots() const
{
	static const enum mailbox_list_path_type types[] = {
		MAILBOX_LIST_PATH_TYPE_DIR,
		MAILBOX_LIST_PATH_TYPE_INDEX,
		MAILBOX_LIST_PATH_TYPE_CONTROL,
	};
	DataStackFrame frame;
	std::vector<dev_t> devices;
	std::vector<std::pair<UniqueFd, std::string>> roots;
	for (struct mail_namespace *ns = user_->namespaces; ns != nullptr; ns = ns->next) {
		if (ns->owner != user_)
			continue; /* shared and public: never written by a move */
		for (enum mailbox_list_path_type type : types) {
			const char *path;
			if (!mailbox_list_get_root_path(ns->list, type, &path))
				continue;
			UniqueFd fd = open_existing_dir(path);
			struct stat st;
			if (!fd || ::fstat(fd.get(), &st) < 0) {
				int err = errno;
				throw Failure(FailureKind::temporary,
					      std::string("Opening ") + path +
						      " to sync it failed: " + std::strerror(err));
			}
			bool known = false;
			for (dev_t dev : devices)
				known = known || dev == st.st_dev;
			if (known)
				continue;
			devices.push_back(st.st_dev);
			roots.emplace_back(std::move(fd), path);
		}
	}
	return roots;
}

void BatchSync::sync()
{
	if (!active())
		return;
	if (!roots_opened_) {
		roots_ = open_roots();
		roots_opened_ = true;
	}
	for (const auto &[fd, path] : roots_) {
		/* A failed sync may have lost written pages: the batch must
		   not count as moved (temporary: retried from the
		   checkpoint, and the intent and GUIDs settle the rest). */
		if (::syncfs(fd.get()) < 0) {
			throw Failure(FailureKind::temporary, "syncfs(" + path +
								      ") failed: " + std::strerror(errno));
		}
	}
}

} // namespace mailmove::storage
