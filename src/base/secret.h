// Passwords in memory: copies of a legacy password must not outlive their
// use in freed heap blocks (a core dump, a later bug that reads freed
// memory). OPENSSL_cleanse is used because a plain memset before free may
// be optimised away.
#pragma once

#include <string>
#include <utility>

namespace mailmove {

// Overwrites text's whole buffer, unused capacity included, and empties it.
void wipe(std::string &text);

// A std::string for a password: wiped when it is destroyed or assigned
// over. Converts to and from std::string, so code that reads it as one
// does not change (but each std::string made from it is a copy to wipe).
class SecretString : public std::string {
public:
	SecretString() = default;
	SecretString(const char *text) : std::string(text) {}
	// text's own buffer (a short one is copied, not moved) is wiped.
	SecretString(std::string text) : std::string(std::move(text)) { wipe(text); }
	SecretString(const SecretString &other) = default;
	SecretString(SecretString &&other) noexcept : std::string(std::move(other)) { wipe(other); }
	SecretString &operator=(const SecretString &other)
	{
		if (this != &other) {
			wipe(*this);
			std::string::operator=(other);
		}
		return *this;
	}
	SecretString &operator=(SecretString &&other) noexcept
	{
		if (this != &other) {
			wipe(*this);
			std::string::operator=(std::move(other));
			wipe(other);
		}
		return *this;
	}
	~SecretString() { wipe(*this); }
};

} // namespace mailmove
