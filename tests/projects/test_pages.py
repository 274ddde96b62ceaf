"""Project pages as a person uses them, with and without htmx."""

from __future__ import annotations

from projects.models import Guideline, GuidelineAcknowledgement, Membership, Project


def test_login_page_and_redirect_for_anonymous(client) -> None:
    response = client.get("/projects/")
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert client.get("/login/").status_code == 200


def test_my_projects_shows_role_badges_and_hides_others(
    client, anna, project, other_project
) -> None:
    client.force_login(anna)
    html = client.get("/projects/").content.decode()
    assert "Support answers" in html and "role-annotator" in html
    assert "Someone else" not in html


def test_foreign_project_pages_are_404(client, anna, other_project) -> None:
    client.force_login(anna)
    for path in [
        "/projects/elsewhere/",
        "/projects/elsewhere/guidelines/",
        "/projects/elsewhere/members/",
    ]:
        assert client.get(path).status_code == 404, path


def test_annotator_cannot_open_admin_pages(client, anna, project) -> None:
    client.force_login(anna)
    assert client.get("/projects/support/members/").status_code == 403
    assert client.get("/projects/support/settings/").status_code == 403


def test_create_project_without_javascript(client, anna, may_create) -> None:
    client.force_login(may_create(anna))
    response = client.post(
        "/projects/new/",
        {
            "name": "Recipes",
            "slug": "",
            "description": "Cooking",
            "task_type": "write",
            "overlap": 1,
            "language": "en",
        },
    )
    assert response.status_code == 302
    project = Project.objects.get(slug="recipes")
    assert Membership.objects.get(project=project, user=anna).role == "admin"


def test_create_project_errors_are_shown_and_nothing_saved(
    client, anna, project, may_create
) -> None:
    client.force_login(may_create(anna))
    response = client.post(
        "/projects/new/",
        {"name": "Dup", "slug": "support", "task_type": "write", "overlap": 1, "language": "en"},
    )
    assert response.status_code == 400
    assert "already exists" in response.content.decode()
    assert Project.objects.filter(name="Dup").count() == 0


def test_edit_project_settings(client, alice, project) -> None:
    client.force_login(alice)
    response = client.post(
        "/projects/support/settings/",
        {
            "name": "Support v2",
            "slug": "support",
            "description": "New brief",
            "task_type": "correct",
            "overlap": 2,
            "language": "en",
        },
    )
    assert response.status_code == 302
    project.refresh_from_db()
    assert (project.name, project.task_type, project.overlap) == ("Support v2", "correct", 2)


def test_a_blank_slug_keeps_the_projects_own(client, alice, project) -> None:
    client.force_login(alice)
    fields = {"name": "Renamed", "slug": "", "task_type": "write", "overlap": 1, "language": "en"}
    response = client.post("/projects/support/settings/", fields)
    assert response.status_code == 302
    assert response["Location"] == "/projects/support/"
    project.refresh_from_db()
    assert (project.name, project.slug) == ("Renamed", "support")


def test_members_page_htmx_returns_only_the_section(client, alice, oscar, project) -> None:
    client.force_login(alice)
    response = client.post(
        "/projects/support/members/",
        {"username": "oscar", "role": "reviewer"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert '<section class="card" id="members">' in html and "<html" not in html
    assert "oscar" in html


def test_members_page_without_javascript_redirects(client, alice, oscar, project) -> None:
    client.force_login(alice)
    response = client.post("/projects/support/members/", {"username": "oscar", "role": "annotator"})
    assert response.status_code == 302
    assert Membership.objects.filter(project=project, user=oscar).exists()


def test_remove_member(client, alice, anna, project) -> None:
    client.force_login(alice)
    membership = Membership.objects.get(project=project, user=anna)
    client.post(f"/projects/support/members/{membership.pk}/remove/")
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_publish_and_acknowledge_guidelines(client, alice, anna, project) -> None:
    client.force_login(alice)
    response = client.post(
        "/projects/support/guidelines/", {"body": "# Be kind\n\n<b onclick='x()'>bold</b>"}
    )
    assert response.status_code == 302
    guideline = Guideline.objects.get(project=project)
    assert "onclick" not in guideline.html and "<b>bold</b>" in guideline.html
    client.force_login(anna)
    overview = client.get("/projects/support/").content.decode()
    assert "acknowledge them before you start" in overview
    page = client.get("/projects/support/guidelines/").content.decode()
    assert "I have read version 1" in page
    client.post("/projects/support/guidelines/acknowledge/")
    assert GuidelineAcknowledgement.objects.filter(user=anna, guideline=guideline).exists()
    assert (
        "You have acknowledged version 1"
        in client.get("/projects/support/guidelines/").content.decode()
    )


def test_user_written_text_is_escaped(client, alice, project) -> None:
    project.description = "<script>alert('brief')</script>"
    project.save()
    client.force_login(alice)
    html = client.get("/projects/support/").content.decode()
    assert "<script>alert('brief')" not in html and "&lt;script&gt;" in html


def test_staff_create_users_page(client, sam, anna) -> None:
    client.force_login(anna)
    refused = client.get("/users/")  # not staff: the app's own page says so
    assert refused.status_code == 403
    assert "Only instance staff manage user accounts." in refused.content.decode()
    client.force_login(sam)
    response = client.post(
        "/users/", {"username": "neo", "password": "a long passphrase here", "email": ""}
    )
    assert response.status_code == 302
    bad = client.post("/users/", {"username": "neo2", "password": "short"})
    assert bad.status_code == 400


def test_project_list_query_count_does_not_grow(
    client, anna, django_assert_max_num_queries
) -> None:
    from projects import services

    for n in range(15):
        p = services.create_project(creator=anna, name=f"P{n}")
        assert p
    client.force_login(anna)
    # session, user, projects with item counts and the caller's role, may they create
    with django_assert_max_num_queries(4):
        assert client.get("/projects/").status_code == 200


def test_people_page_shows_gold_scores_per_annotator(
    client, alice, anna, project, django_capture_on_commit_callbacks
) -> None:
    from annotation.leases import claim_next
    from annotation.services import submit
    from tests.factories import make_item

    gold = make_item(project, "What is 2 + 2?", is_gold=True, reference="2 + 2 is 4.")
    project.gold_rate = 1.0
    project.save(update_fields=["gold_rate"])
    lease = claim_next(project=project, user=anna)
    assert lease is not None and lease.item == gold
    with django_capture_on_commit_callbacks(execute=True):  # the check task scores it
        submit(
            item=gold,
            user=anna,
            messages=[*gold.source, {"role": "assistant", "content": "2 + 2 is 4."}],
            base_revision=None,
        )
    client.force_login(alice)
    html = client.get("/projects/support/members/").content.decode()
    assert "similarity 1.00" in html
