// Shared main() for the Check unit tests: every test program lists its
// suites and gets Check's usual summary line and a failing exit status
// when any test fails. Include it last: check.h defines a fail() macro
// that breaks C++ standard headers included after it.
#pragma once

#include <check.h>

#include <cstdlib>
#include <initializer_list>

inline int run_check_suites(std::initializer_list<Suite *> suites)
{
	auto it = suites.begin();
	SRunner *runner = srunner_create(*it);
	for (++it; it != suites.end(); ++it)
		srunner_add_suite(runner, *it);
	srunner_run_all(runner, CK_NORMAL);
	int failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
