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


class Severity(models.TextChoices):
    EMERGENCY = "emergency", "Emergency"  # unsafe where they are: a live lane, an accident, a child locked in
    URGENT = "urgent", "Urgent"
    STANDARD = "standard", "Standard"


class DispatchStatus(models.TextChoices):
    DISPATCHED = "dispatched", "Dispatched"
    NO_TECHNICIAN = "no_technician", "No technician available"
    CANCELLED = "cancelled", "Cancelled"
    COMPLETED = "completed", "Completed"


class Dispatch(TimeStampedModel):
    """A technician sent to a stranded driver, and why that one: the ranking is kept in `breakdown`."""

    # One dispatch per call: the agent's tool may be called again and must not send a second truck.
    call = models.OneToOneField("calls.Call", on_delete=models.PROTECT, related_name="dispatch")
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        related_name="dispatches",
        db_index=False,  # covered by dispatch_customer_idx
    )
    technician = models.ForeignKey(
        Technician, null=True, blank=True, on_delete=models.PROTECT, related_name="dispatches"
    )
    location_text = models.CharField(max_length=255, help_text="Where the caller said they are, in their words.")
    place_name = models.CharField(max_length=100, blank=True, help_text="The city that was placed on the map.")
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    issue = models.CharField(max_length=10, choices=Specialization)
    severity = models.CharField(max_length=10, choices=Severity)
    status = models.CharField(max_length=15, choices=DispatchStatus, default=DispatchStatus.DISPATCHED)
    eta_minutes = models.PositiveIntegerField(null=True, blank=True)
    distance_km = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    score = models.DecimalField(max_digits=6, decimal_places=4, null=True, blank=True)
    breakdown = models.JSONField(
        default=dict, blank=True, help_text="The candidates ranked, best first, with each part of their score."
    )

    class Meta:
        verbose_name_plural = "dispatches"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["customer", "-created_at"], name="dispatch_customer_idx"),
            models.Index(fields=["status", "created_at"], name="dispatch_status_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="dispatched") | Q(technician__isnull=False),
                name="dispatch_dispatched_has_technician",
                violation_error_message="A dispatched job needs a technician.",
            ),
            models.CheckConstraint(
                condition=~Q(status="no_technician") | Q(technician__isnull=True),
                name="dispatch_no_technician_has_none",
                violation_error_message="A job with no technician available cannot name one.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_issue_display()} · {self.customer.name} · {self.get_status_display()}"
