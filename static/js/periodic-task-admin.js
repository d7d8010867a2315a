// django-celery-beat's periodic task form: show the chosen crontab in words under the field (was inline).
(function ($) {
  "use strict";
  const readableCrontabs = JSON.parse($("#readable-crontabs").text());
  const originalCrontabHelp = JSON.parse($("#crontab-help").text());
  $(".field-crontab_translation").hide();
  $(".field-crontab").change(function () {
    const help = $(".field-crontab .help");
    help.text(originalCrontabHelp);
    help.append("<br>", document.createTextNode("Translation: " + readableCrontabs[$("#id_crontab").val()]));
  });
})(django.jQuery);
