// mailmove_save_sync = batch: the mover's saves skip Dovecot's fsync per
// message (mail_fsync=never for the mail user while the move runs), and
// durability comes back once per batch with syncfs() of the file
// system(s) holding the user's mail, index and control directories (see
// move::Store::make_durable()). One sync of a whole file system costs
// about what one fsync does, so a batch of a hundred messages pays for
// one instead of a hundred and more.
//
// An admin who configured mail_fsync=never gets what they asked for:
// nothing is overridden and nothing is synced.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "base/unique-fd.h"

struct mail_user;
struct mail_storage_settings;

namespace mailmove::storage {

class BatchSync {
public:
	// Turns the user's per-message fsyncs off until destroyed, unless
	// they are off already (or, on Dovecot 2.4, cannot be changed for
	// one user: then the configured mail_fsync applies as in
	// mailmove_save_sync = message).
	explicit BatchSync(struct mail_user *user);
	~BatchSync();
	BatchSync(const BatchSync &) = delete;
	BatchSync &operator=(const BatchSync &) = delete;

	// Whether syncs are owed (the fsyncs were turned off by us).
	bool active() const { return !overridden_.empty(); }
	// syncfs() of each file system holding the user's mail, index and
	// control directories. Throws a temporary Failure when one fails.
	void sync();

private:
	std::vector<std::pair<UniqueFd, std::string>> open_roots() const;

	struct mail_user *user_;
	// The settings changed, with the mode each had.
	std::vector<std::pair<struct mail_storage_settings *, int>> overridden_;
	// One open directory per file system (by st_dev).
	std::vector<std::pair<UniqueFd, std::string>> roots_;
	bool roots_opened_ = false;
};

} // namespace mailmove::storage
