#include "base/secret.h"

#include <openssl/crypto.h>

namespace mailmove {

void wipe(std::string &text)
{
	/* resize() within the capacity never reallocates: the whole buffer,
	   including what an earlier, longer value left there, is cleansed. */
	text.resize(text.capacity());
	OPENSSL_cleanse(text.data(), text.size());
	text.clear();
}

} // namespace mailmove
