/* Dovecot 2.3's dict API under the shared job table (dict-kv-port.h). Every
   call is synchronous: the service waits for the store, as it waits for
   its local journal's write(). */

#include "lib.h"

#ifdef MAILMOVE_DOVECOT_24
/* Dovecot 2.4 changed dict_init() (named dict settings blocks); the shared
   job table is not ported to it yet, and says so instead of running on a
   table of its own. */
#include "dict-kv-port.h"

struct mailmove_dict {
	int unused;
};

int mailmove_dict_open(const char *uri, const char *base_dir ATTR_UNUSED,
		       struct mailmove_dict **dict_r, const char **error_r)
{
	*dict_r = NULL;
	*error_r = t_strdup_printf("mailmove_dict = %s: the shared job table "
				   "needs Dovecot 2.3 (not ported to 2.4 yet)", uri);
	return -1;
}

void mailmove_dict_close(struct mailmove_dict **dict)
{
	*dict = NULL;
}

int mailmove_dict_lookup(struct mailmove_dict *dict ATTR_UNUSED,
			 const char *key ATTR_UNUSED, char **value_r,
			 char **error_r)
{
	*value_r = NULL;
	*error_r = i_strdup("the shared job table needs Dovecot 2.3");
	return -1;
}

int mailmove_dict_commit(struct mailmove_dict *dict ATTR_UNUSED,
			 const char *const *keys ATTR_UNUSED,
			 const char *const *values ATTR_UNUSED,
			 unsigned int count ATTR_UNUSED, char **error_r)
{
	*error_r = i_strdup("the shared job table needs Dovecot 2.3");
	return -1;
}
#else
#include "dict.h"
#include "dict-kv-port.h"

struct mailmove_dict {
	struct dict *dict;
};

static unsigned int mailmove_dict_drivers_refcount = 0;

int mailmove_dict_open(const char *uri, const char *base_dir,
		       struct mailmove_dict **dict_r, const char **error_r)
{
	struct dict_settings set;
	struct dict *dict;
	const char *error;

	if (mailmove_dict_drivers_refcount++ == 0)
		dict_drivers_register_builtin();
	i_zero(&set);
	set.base_dir = base_dir;
	if (dict_init(uri, &set, &dict, &error) < 0) {
		*error_r = t_strdup_printf("dict_init(%s) failed: %s", uri, error);
		if (--mailmove_dict_drivers_refcount == 0)
			dict_drivers_unregister_builtin();
		return -1;
	}
	*dict_r = i_new(struct mailmove_dict, 1);
	(*dict_r)->dict = dict;
	return 0;
}

void mailmove_dict_close(struct mailmove_dict **_dict)
{
	struct mailmove_dict *dict = *_dict;

	if (dict == NULL)
		return;
	*_dict = NULL;
	dict_wait(dict->dict);
	dict_deinit(&dict->dict);
	i_free(dict);
	if (--mailmove_dict_drivers_refcount == 0)
		dict_drivers_unregister_builtin();
}

struct mailmove_dict_commit_result {
	bool done;
	int ret;
	char *error;
};

static void
mailmove_dict_commit_callback(const struct dict_commit_result *result,
			      struct mailmove_dict_commit_result *ctx)
{
	ctx->done = TRUE;
	ctx->ret = result->ret;
	if (result->ret < 0)
		ctx->error = i_strdup(result->error != NULL ? result->error : "unknown error");
}

static const struct dict_op_settings mailmove_dict_op_set = {
	.username = "",
	.home_dir = NULL,
};

int mailmove_dict_lookup(struct mailmove_dict *dict, const char *key,
			 char **value_r, char **error_r)
{
	int ret;

	*value_r = NULL;
	/* A frame of its own: status -A looks up every job. */
	T_BEGIN {
		const char *value, *error;

		ret = dict_lookup(dict->dict, &mailmove_dict_op_set,
				  pool_datastack_create(),
				  t_strconcat(DICT_PATH_SHARED, key, NULL),
				  &value, &error);
		if (ret > 0)
			*value_r = i_strdup(value);
		else if (ret < 0)
			*error_r = i_strdup_printf("dict lookup of %s failed: %s",
						   key, error);
	} T_END;
	return ret;
}

int mailmove_dict_commit(struct mailmove_dict *dict, const char *const *keys,
			 const char *const *values, unsigned int count,
			 char **error_r)
{
	int ret;

	T_BEGIN {
		struct dict_transaction_context *trans;
		unsigned int i;

		trans = dict_transaction_begin(dict->dict, &mailmove_dict_op_set);
		for (i = 0; i < count; i++) {
			const char *key = t_strconcat(DICT_PATH_SHARED, keys[i], NULL);

			if (values[i] != NULL)
				dict_set(trans, key, values[i]);
			else
				dict_unset(trans, key);
		}
		/* Asynchronous commit, then wait for it: the redis driver's
		   synchronous commit crashed when called from an ioloop
		   callback (Dovecot 2.3.19). */
		struct mailmove_dict_commit_result result;

		i_zero(&result);
		dict_transaction_commit_async(&trans, mailmove_dict_commit_callback,
					      &result);
		while (!result.done)
			dict_wait(dict->dict);
		/* NOTFOUND (0) only concerns dict_atomic_inc(), not used. */
		ret = result.ret < 0 ? -1 : 0;
		if (ret < 0) {
			*error_r = i_strdup_printf("dict commit failed: %s", result.error);
			i_free(result.error);
		}
	} T_END;
	return ret;
}
#endif
