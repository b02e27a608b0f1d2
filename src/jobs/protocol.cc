#include "jobs/protocol.h"

namespace mailmove::jobs {

namespace {

template <typename T>
void parse_into(const KeyValues &values, const char *key, T &field)
{
	auto it = values.find(key);
	if (it == values.end())
		return;
	if (auto parsed = parse_decimal<T>(it->second))
		field = *parsed;
}

} // namespace

KeyValues progress_to_key_values(const Progress &progress)
{
	return {
		{"folders_done", std::to_string(progress.folders_done)},
		{"folders_total", std::to_string(progress.folders_total)},
		{"messages_done", std::to_string(progress.messages_done)},
		{"messages_total", std::to_string(progress.messages_total)},
		{"bytes_done", std::to_string(progress.bytes_done)},
		{"bytes_total", std::to_string(progress.bytes_total)},
		{"messages_failed", std::to_string(progress.messages_failed)},
		{"folders_failed", std::to_string(progress.folders_failed)},
	};
}

void apply_progress(Progress &progress, const KeyValues &values)
{
	parse_into(values, "folders_done", progress.folders_done);
	parse_into(values, "folders_total", progress.folders_total);
	parse_into(values, "messages_done", progress.messages_done);
	parse_into(values, "messages_total", progress.messages_total);
	parse_into(values, "bytes_done", progress.bytes_done);
	parse_into(values, "bytes_total", progress.bytes_total);
	parse_into(values, "messages_failed", progress.messages_failed);
	parse_into(values, "folders_failed", progress.folders_failed);
}

KeyValues folder_progress_to_key_values(const FolderProgress &folder)
{
	return {
		{"name", folder.name},
		{"legacy_name", folder.legacy_name},
		{"state", folder.state},
		{"messages_done", std::to_string(folder.messages_done)},
		{"messages_total", std::to_string(folder.messages_total)},
		{"bytes_done", std::to_string(folder.bytes_done)},
		{"bytes_total", std::to_string(folder.bytes_total)},
		{"messages_failed", std::to_string(folder.messages_failed)},
	};
}

} // namespace mailmove::jobs
