# Makes the Dovecot 2.4 example (installed when the plugin is built against
# 2.4, see Makefile.am) from 90-mailmove.conf, Dovecot 2.3's: one text to
# keep, the syntax changed by these rules.
3a\
##\
## This is the Dovecot 2.4 configuration (made from the Dovecot 2.3 one by\
## conf.d/dovecot-2.4.sed). The setting names are the same as on 2.3, but\
## they are ordinary global settings: there is no plugin { } section.
s/^mail_plugins = \$mail_plugins mailmove$/mail_plugins {\
  mailmove = yes\
}/
s/^  service_count = 1$/  restart_request_count = 1/
/^plugin {$/,/^}$/{
/^plugin {$/c\
# The plugin's settings. Dovecot 2.4 knows their types and defaults from the\
# plugin's settings module: a value of the wrong kind stops Dovecot at start.
/^}$/d
s/^  //
}
s/%u full user name, %n user part, %d domain\./%{user} full user name, %{user | username} user part, %{user | domain} domain./
s/^\(#mailmove_source_user = \)%u$/\1%{user}/
s/passdb { override_fields = userdb_mailmove_password=%w }/passdb { fields { userdb_mailmove_password = %{password} } }/
# A metric's group_by is a list of named blocks on 2.4.
s/^#  group_by = \([a-z_]*\) \([a-z_]*\)$/#  group_by \1 {\n#  }\n#  group_by \2 {\n#  }/
s/^#  group_by = \([a-z_]*\)$/#  group_by \1 {\n#  }/
