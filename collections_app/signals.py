"""What the pipeline tells the apps that build on it (it calls none of them)."""

from django.dispatch import Signal

# Sent inside the transaction that stores a verdict, when a submission completes (failed or
# passed) and is the provider's current upload for the collection, i.e. not already overtaken
# by a newer completed one. Arguments: submission. review listens: a completed upload after an
# approval reopens the collection's sign-off.
submission_completed = Signal()

# Sent inside the transaction that stores a rejection (the file failed the schema or its header:
# nothing was stored). Arguments: submission. review listens: the uploader is told.
submission_rejected = Signal()

# Sent once the transaction that approved a submission has committed (review's approval, and the
# historical approval of an imported year). Arguments: submission. contacts listens: an approved
# Student record rebuilds the populations of that year's contact details collections.
submission_approved = Signal()

# Sent inside the transaction that stores a re-run's verdict (services.submission_rerun: the same
# stored records checked again). Arguments: submission, was (its status before the re-run) and
# verdict (failed or passed). review listens: an approved submission with warnings now over
# tolerance is marked `approved_no_longer_passes` too (the runner marks it for errors).
submission_rerun_finished = Signal()
