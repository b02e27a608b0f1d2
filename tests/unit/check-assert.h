// Assertions for C++ values that Check lacks.
#pragma once

#include <check.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <stdexcept>
#include <string>

#include "base/failure.h"

// ck_assert_str_eq for std::string expressions: Check keeps only the
// char pointer, which would dangle once a temporary string is gone.
#define ck_assert_string_eq(actual, expected)                                  \
	do {                                                                   \
		const std::string actual_string_ = (actual);                   \
		const std::string expected_string_ = (expected);               \
		ck_assert_msg(actual_string_ == expected_string_,              \
			      "%s is \"%s\", expected \"%s\"", #actual,          \
			      actual_string_.c_str(), expected_string_.c_str()); \
	} while (0)

// Built with AddressSanitizer (tests/robustness.sh builds the unit tests
// so): every memory access is checked, and code runs several times
// slower. Timing tests shrink their work by sanitizer_slowdown instead of
// dropping their bound.
#if defined(__SANITIZE_ADDRESS__)
constexpr int sanitizer_slowdown = 4;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr int sanitizer_slowdown = 4;
#else
constexpr int sanitizer_slowdown = 1;
#endif
#else
constexpr int sanitizer_slowdown = 1;
#endif

// Runs code that must throw mailmove::Failure and returns what it threw,
// so a test can check the kind and the message. Fails the test when
// nothing (or something else) was thrown.
template <typename Code>
mailmove::Failure expect_failure(Code code)
{
	try {
		code();
	} catch (const mailmove::Failure &failure) {
		return failure;
	} catch (const std::exception &e) {
		ck_abort_msg("expected mailmove::Failure, got: %s", e.what());
	}
	ck_abort_msg("expected mailmove::Failure, nothing was thrown");
	throw std::logic_error("unreachable");
}

inline bool contains(const std::string &text, const std::string &part)
{
	return text.find(part) != std::string::npos;
}

// An exception escaping a test ends its process with "signal 6" and
// nothing else; this prints what it was first. Call it from main().
inline void report_uncaught_exceptions()
{
	std::set_terminate([] {
		try {
			throw;
		} catch (const std::exception &e) {
			std::fprintf(stderr, "uncaught exception: %s\n", e.what());
		} catch (...) {
		}
		std::abort();
	});
}
