// The job report: what a run did not move as the legacy server had it, so
// an admin can act on it (`doveadm mailmove report -u USER`). It lives
// beside the checkpoint in the user's storage and describes the latest run:
// each run starts it anew (a message that failed before and moved now is no
// longer listed; one that fails again is listed again).
//
// One line per entry, tab-escaped fields (base/line-codec.h): the kind,
// then key=value fields.
//   run            started, source, order, filters
//   folder         legacy, display, target, role, note  (renamed/escaped)
//   folder-skipped legacy, display, reason
//   filtered       folder, count, reason
//   message-failed folder, uid, size, reason
//   keyword-rejected folder, uid, keyword
//   uidvalidity    folder, old, new, matched  (content fallback used)
#pragma once

#include <functional>
#include <string>

#include "base/line-codec.h"

namespace mailmove::move {

struct MoveOptions;

class ReportWriter {
public:
	// Starts the report in dir anew. Throws Failure on I/O errors.
	explicit ReportWriter(const std::string &dir);
	~ReportWriter();
	ReportWriter(const ReportWriter &) = delete;
	ReportWriter &operator=(const ReportWriter &) = delete;

	void add(const std::string &kind, const KeyValues &fields);
	// The "run" entry: now, the source's URL and the move's options.
	void add_run(const std::string &source, const MoveOptions &options);

private:
	std::string path_;
	int fd_ = -1;
};

// Calls entry(kind, fields) for every entry of the report in dir; returns
// false when there is no report (no run yet).
bool read_report(const std::string &dir,
		 const std::function<void(const std::string &kind, const KeyValues &fields)> &entry);

} // namespace mailmove::move
