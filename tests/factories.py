"""factory_boy factories shared by every test module."""

from datetime import timedelta

import factory
from django.core.files.base import ContentFile
from django.utils import timezone

from accounts.models import Provider, Role, User
from collections_app.models import Collection, CollectionKind, Submission

PASSWORD = "correct horse battery staple"


class ProviderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Provider

    name = factory.Sequence(lambda n: f"University of Testing {n}")
    ukprn = factory.Sequence(lambda n: f"{10000000 + n:08d}")
    instid = factory.Sequence(lambda n: f"{1000 + n:04d}")
    email_domains = factory.LazyAttribute(lambda p: [f"uni{p.instid}.ac.uk"])


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"User{n}")
    role = Role.PROVIDER_USER
    provider = factory.SubFactory(ProviderFactory)
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class ApproverFactory(UserFactory):
    role = Role.PROVIDER_APPROVER


class LiaisonFactory(UserFactory):
    role = Role.LIAISON
    provider = None


class CollectionFactory(factory.django.DjangoModelFactory):
    """An open Student record collection by default."""

    class Meta:
        model = Collection
        django_get_or_create = ("reference",)

    reference = "C23051"
    name = "Student record 2023/24"
    kind = CollectionKind.STUDENT_RECORD
    reporting_year = 2023
    opens = factory.LazyFunction(lambda: timezone.now() - timedelta(days=30))
    approval_deadline = factory.LazyFunction(lambda: timezone.now() + timedelta(days=30))
    final_updates_deadline = None


class SubmissionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Submission

    provider = factory.SubFactory(ProviderFactory)
    collection = factory.SubFactory(CollectionFactory)
    uploaded_by = factory.SubFactory(UserFactory, provider=factory.SelfAttribute("..provider"))
    original_name = "record.xml"
    sha256 = "0" * 64
    size = 100
    file = factory.LazyFunction(lambda: ContentFile(b"<StudentRecord/>", name="record.xml"))
