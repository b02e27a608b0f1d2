#include "move/move-report.h"

#include "base/failure.h"
#include "base/file-io.h"
#include "base/text.h"
#include "move/mover.h"

#include <algorithm>
#include <ctime>
#include <fcntl.h>
#include <fstream>
#include <unistd.h>

namespace mailmove::move {

namespace {

constexpr const char *report_name = "dovecot-mailmove.report";

} // namespace

ReportWriter::ReportWriter(const std::string &dir) : path_(dir + "/" + report_name)
{
	fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
	if (fd_ < 0)
		throw_io("open", path_);
}

ReportWriter::~ReportWriter()
{
	if (fd_ >= 0)
		::close(fd_);
}

void ReportWriter::add(const std::string &kind, const KeyValues &fields)
{
	std::vector<std::string> line{kind};
	for (std::string &field : to_key_value_fields(fields))
		line.push_back(std::move(field));
	std::string text = join_fields(line) + "\n";
	/* One write per entry (O_APPEND): a crash leaves whole lines. The
	   report is advisory, so no fsync. */
	if (::write(fd_, text.data(), text.size()) != ssize_t(text.size()))
		throw_io("write", path_);
}

void ReportWriter::add_run(const std::string &source, const MoveOptions &options)
{
	time_t now = time(nullptr);
	struct tm tm;
	char started[32];
	gmtime_r(&now, &tm);
	strftime(started, sizeof(started), "%Y-%m-%dT%H:%M:%SZ", &tm);
	add("run", {{"started", started},
		    {"source", source},
		    {"order", options.order == MoveOrder::uid ? "uid" : "newest-first"},
		    {"filters", options.filter.describe()}});
}

void throw_if_incomplete(const MoveReport &report)
{
	const std::vector<FolderFailure> &failed = report.failed_folders;
	if (failed.empty())
		return;
	std::string message = "folder " + printable_excerpt(failed.front().legacy_name) +
			      " could not be moved: " + printable_excerpt(failed.front().reason, 400);
	if (failed.size() > 1)
		message += " (and " + std::to_string(failed.size() - 1) + " other folder(s), see the report)";
	bool temporary = std::all_of(failed.begin(), failed.end(), [](const FolderFailure &f) {
		return f.kind == FailureKind::temporary;
	});
	throw Failure(temporary ? FailureKind::temporary : FailureKind::permanent, message);
}

bool read_report(const std::string &dir,
		 const std::function<void(const std::string &kind, const KeyValues &fields)> &entry)
{
	std::ifstream in(dir + "/" + report_name);
	if (!in)
		return false;
	std::string line;
	while (std::getline(in, line)) {
		std::vector<std::string> fields = split_fields(line);
		if (fields.empty() || fields[0].empty())
			continue;
		entry(fields[0], from_key_value_fields(fields, 1));
	}
	return true;
}

} // namespace mailmove::move
