"""What the pipeline tells the apps that build on it (it calls none of them)."""

from django.dispatch import Signal

# Sent inside the transaction that stores a verdict, when a submission completes (failed or
# passed) and is the provider's current upload for the collection, i.e. not already overtaken
# by a newer completed one. Arguments: submission. review listens: a completed upload after an
# approval reopens the collection's sign-off.
submission_completed = Signal()
