from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from apps.core.models import TimeStampedModel
from apps.core.validators import validate_e164


class Specialization(models.TextChoices):
    TOWING = "towing", "Towing"
    BATTERY = "battery", "Battery / jump start"
    TIRE = "tire", "Tire change"
    LOCKOUT = "lockout", "Lockout"
    FUEL = "fuel", "Fuel delivery"
    ENGINE = "engine", "Engine / mechanical"
    EV = "ev", "Electric vehicle"
    ACCIDENT = "accident", "Accident recovery"


def validate_specializations(value: object) -> None:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError("Specializations must be a list of names.")
    unknown = sorted(set(value) - set(Specialization.values))
    if unknown:
        raise ValidationError(
            f"Unknown specializations: {', '.join(unknown)}. Known: {', '.join(Specialization.values)}."
        )


class Availability(models.TextChoices):
    AVAILABLE = "available", "Available"
    BUSY = "busy", "On a job"
    OFF_DUTY = "off_duty", "Off duty"


class Technician(TimeStampedModel):
    name = models.CharField(max_length=200)
    phone = models.CharField(max_length=16, unique=True, validators=[validate_e164])
    base_location = models.CharField(max_length=200, help_text="Where the technician is based, e.g. 'Oakland, CA'.")
    latitude = models.DecimalField(
        max_digits=9, decimal_places=6, validators=[MinValueValidator(-90), MaxValueValidator(90)]
    )
    longitude = models.DecimalField(
        max_digits=9, decimal_places=6, validators=[MinValueValidator(-180), MaxValueValidator(180)]
    )
    specializations = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_specializations],
        help_text=f"A list of: {', '.join(Specialization.values)}",
    )
    availability = models.CharField(max_length=10, choices=Availability, default=Availability.AVAILABLE)

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["availability"], name="technician_availability_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(latitude__gte=-90, latitude__lte=90, longitude__gte=-180, longitude__lte=180),
                name="technician_coordinates_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.base_location})"
