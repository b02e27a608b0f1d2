// A temporary directory for one test, removed with everything in it.
#pragma once

#include <cstdlib>
#include <ftw.h>
#include <stdexcept>
#include <string>
#include <unistd.h>

class TempDir {
public:
	TempDir()
	{
		char tmpl[] = "/tmp/mailmove-test.XXXXXX";
		if (mkdtemp(tmpl) == nullptr)
			throw std::runtime_error("mkdtemp failed");
		path_ = tmpl;
	}
	~TempDir()
	{
		nftw(path_.c_str(), [](const char *p, const struct stat *, int, struct FTW *) {
			return ::remove(p);
		}, 16, FTW_DEPTH | FTW_PHYS);
	}
	TempDir(const TempDir &) = delete;
	TempDir &operator=(const TempDir &) = delete;

	const std::string &path() const { return path_; }

private:
	std::string path_;
};
