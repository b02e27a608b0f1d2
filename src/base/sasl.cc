#include "base/sasl.h"

#include "base/failure.h"
#include "base/secret.h"

namespace mailmove {

namespace {

void refuse_byte(std::string_view value, char byte, const char *mechanism, const char *what)
{
	if (value.find(byte) != std::string_view::npos) {
		throw Failure(FailureKind::permanent, std::string("SASL ") + mechanism + ": the " +
							      what + " contains a " +
							      (byte == 0 ? "NUL" : "^A") + " byte");
	}
}

// base64 of message, and message wiped: it holds a secret.
std::string encode_and_wipe(std::string &message)
{
	std::string encoded = base64_encode(message);
	wipe(message);
	return encoded;
}

} // namespace

std::string sasl_xoauth2_response(std::string_view user, std::string_view token)
{
	refuse_byte(user, '\1', "XOAUTH2", "user name");
	refuse_byte(token, '\1', "XOAUTH2", "token");
	std::string message;
	message.reserve(user.size() + token.size() + 32);
	message.append("user=").append(user).append("\1auth=Bearer ").append(token).append("\1\1");
	return encode_and_wipe(message);
}

std::string sasl_oauthbearer_response(std::string_view user, std::string_view token,
				      std::string_view host, unsigned port)
{
	refuse_byte(user, '\1', "OAUTHBEARER", "user name");
	refuse_byte(token, '\1', "OAUTHBEARER", "token");
	std::string escaped_user;
	for (char c : user) {
		if (c == ',')
			escaped_user += "=2C";
		else if (c == '=')
			escaped_user += "=3D";
		else
			escaped_user += c;
	}
	std::string message;
	message.reserve(escaped_user.size() + host.size() + token.size() + 64);
	message.append("n,a=").append(escaped_user).append(",\1host=").append(host);
	message.append("\1port=").append(std::to_string(port));
	message.append("\1auth=Bearer ").append(token).append("\1\1");
	return encode_and_wipe(message);
}

std::string sasl_plain_response(std::string_view authzid, std::string_view authcid,
				std::string_view password)
{
	refuse_byte(authzid, '\0', "PLAIN", "authorization identity");
	refuse_byte(authcid, '\0', "PLAIN", "user name");
	refuse_byte(password, '\0', "PLAIN", "password");
	std::string message;
	/* One buffer, no reallocation: no copy of the password is left in
	   a freed block, and this one is wiped. */
	message.reserve(authzid.size() + authcid.size() + password.size() + 2);
	message.append(authzid).append(1, '\0').append(authcid).append(1, '\0').append(password);
	return encode_and_wipe(message);
}

} // namespace mailmove
