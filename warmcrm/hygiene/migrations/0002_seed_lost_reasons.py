from django.db import migrations

DEFAULT_REASONS = [
    "No budget",
    "Chose a competitor",
    "Went with a competitor",
    "Bad timing",
    "No need",
    "Not interested",
    "Not the decision maker",
    "Could not reach",
    "Already a customer",
    "Other",
]


def seed(apps, schema_editor):
    LostReason = apps.get_model("hygiene", "LostReason")
    for order, name in enumerate(DEFAULT_REASONS, start=1):
        LostReason.objects.get_or_create(name=name, defaults={"order": order * 10})


def unseed(apps, schema_editor):
    apps.get_model("hygiene", "LostReason").objects.filter(name__in=DEFAULT_REASONS).delete()


class Migration(migrations.Migration):
    dependencies = [("hygiene", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
