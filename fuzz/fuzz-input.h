// Splitting one fuzzer input into the pieces a target needs: a few leading
// bytes steer the harness (chunk sizes, options), the rest is the data.
// Taking the steering bytes from the input itself keeps every run
// reproducible from the crash file alone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace mailmove::fuzz {

class FuzzInput {
public:
	FuzzInput(const uint8_t *data, size_t size)
		: rest_(reinterpret_cast<const char *>(data), size)
	{
	}
	explicit FuzzInput(std::string_view data) : rest_(data) {}

	// One steering byte, 0 when the input is used up.
	uint8_t byte()
	{
		if (rest_.empty())
			return 0;
		uint8_t value = static_cast<uint8_t>(rest_.front());
		rest_.remove_prefix(1);
		return value;
	}

	// Up to n bytes of data.
	std::string_view take(size_t n)
	{
		std::string_view piece = rest_.substr(0, n);
		rest_.remove_prefix(piece.size());
		return piece;
	}

	// The data up to the next separator byte (which is dropped), or all.
	std::string_view take_until(char separator)
	{
		size_t end = rest_.find(separator);
		std::string_view piece = rest_.substr(0, end);
		rest_.remove_prefix(end == std::string_view::npos ? rest_.size() : end + 1);
		return piece;
	}

	std::string_view rest() const { return rest_; }
	bool empty() const { return rest_.empty(); }

private:
	std::string_view rest_;
};

// A chunk size from a steering byte: mostly small, so that every split
// point of a short input is tried, sometimes everything at once.
inline size_t chunk_size(uint8_t steer)
{
	return steer == 0 ? SIZE_MAX : (steer % 16) + 1;
}

} // namespace mailmove::fuzz
