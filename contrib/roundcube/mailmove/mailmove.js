/* Mail moving (dovecot-mailmove): the reminder after login and the
   progress refresh under Settings > Mail moving. */
window.rcmail && rcmail.addEventListener('init', function() {
    var reminder = rcmail.env.mailmove_reminder;
    if (reminder) {
        var body = $('<div id="mailmove-reminder">').append($('<p>').text(reminder.text));
        var dismiss = function() {
            rcmail.http_post('plugin.mailmove-dismiss', {});
        };
        rcmail.show_popup_dialog(body, reminder.title, [
            {text: reminder.open, 'class': 'mainaction', id: 'mailmove-open', click: function() {
                dismiss();
                $(this).dialog('close');
                rcmail.location_href({_task: 'settings', _action: 'plugin.mailmove'}, window, true);
            }},
            {text: reminder.later, id: 'mailmove-later', click: function() {
                dismiss();
                $(this).dialog('close');
            }}
        ]);
    }

    if (rcmail.env.mailmove && $('#mailmove-state').length) {
        var show = function(view) {
            $('#mailmove-state').text(view.state_text).attr('data-state', view.state);
            $('#mailmove-bar').css('width', view.percent + '%');
            $('#mailmove-counts').text(view.counts_text);
            $('#mailmove-error').text(view.error_text || '');
        };
        show(rcmail.env.mailmove);
        var refresh = function() {
            $.getJSON(rcmail.url('plugin.mailmove-status'), function(view) {
                if (view && view.state && view.state != 'unknown')
                    show(view);
            }).always(function() {
                setTimeout(refresh, 2000);
            });
        };
        setTimeout(refresh, 2000);
    }
});
