"""TemplateRenderer.render_for: variants, options in front matter, built-ins, links and media."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from cm_toolkit.channels.registry import BUILTIN_CHANNELS
from cm_toolkit.errors import TemplateError
from cm_toolkit.templates import TemplateRenderer
from cm_toolkit.templates.environment import list_templates, split_template_file
from cm_toolkit.workspace.models import Network

from .conftest import make_context

Build = Callable[..., TemplateRenderer]


@pytest.mark.parametrize("network", sorted(BUILTIN_CHANNELS))
def test_each_network_gets_its_variant_else_the_default(workspace_with: Build,
                                                       network: Network) -> None:
    renderer = workspace_with({
        "teaser.j2": "défaut",
        "teaser.x.j2": "variante X",
        "teaser.linkedin.j2": "variante LinkedIn",
    })
    rendered = renderer.render_for(network, "teaser", make_context(network))
    expected = {"x": ("variante X", "templates/teaser.x.j2"),
                "linkedin": ("variante LinkedIn", "templates/teaser.linkedin.j2")}.get(
                    network, ("défaut", "templates/teaser.j2"))
    assert (rendered.text, rendered.template_file) == expected


def test_a_template_with_variants_only(workspace_with: Build) -> None:
    renderer = workspace_with({"only.x.j2": "X seulement"})
    assert renderer.render_for("x", "only", make_context()).text == "X seulement"
    with pytest.raises(TemplateError) as caught:
        renderer.render_for("facebook", "only", make_context("facebook"))
    assert "templates/only.j2" in str(caught.value)


def test_an_unknown_template_suggests_a_close_name(workspace_with: Build) -> None:
    renderer = workspace_with({"teaser.j2": "x"})
    with pytest.raises(TemplateError) as caught:
        renderer.render_for("x", "teasr", make_context())
    assert "did you mean 'teaser'" in caught.value.problem.fix


def test_variants_can_extend_the_default_and_share_macros(workspace_with: Build) -> None:
    renderer = workspace_with({
        "_macros.j2": "{% macro signature() %}— MOOC {{ course }}{% endmacro %}",
        "annonce.j2": ("{% import '_macros.j2' as m with context %}"
                       "{% block corps %}Texte long{% endblock %} {{ m.signature() }}"),
        "annonce.x.j2": "{% extends 'annonce.j2' %}{% block corps %}Court{% endblock %}",
    })
    assert renderer.render_for("x", "annonce", make_context()).text == (
        "Court — MOOC Du Manager au Leader 2.0"
    )
    assert renderer.render_for("facebook", "annonce",
                               make_context("facebook")).text == (
        "Texte long — MOOC Du Manager au Leader 2.0"
    )


def test_partials_are_not_templates(workspace_with: Build) -> None:
    renderer = workspace_with({"_macros.j2": "", "teaser.j2": "", "teaser.x.j2": "",
                               "live/rappel.meet.j2": ""})
    assert renderer.templates_dir is not None
    found = list_templates(renderer.templates_dir)
    assert found == {"teaser": {None, "x"}, "live/rappel": {"meet"}}
    assert split_template_file("_macros.j2") is None
    assert split_template_file("teaser.v2.j2") == ("teaser.v2", None)


def test_front_matter_options_are_rendered_and_not_in_the_text(workspace_with: Build) -> None:
    renderer = workspace_with({"live.j2": (
        "---\n"
        "title: \"{{ session.title }}\"\n"
        "description: \"Durée : {{ session.duration | duration }}\"\n"
        "media: [assets/live.png]\n"
        "thread: true\n"
        "---\n"
        "Le texte")})
    rendered = renderer.render_for("youtube", "live",
                                   make_context("youtube", link=None))
    assert rendered.text == "Le texte"
    assert rendered.title == "Live n°3 : manager à distance"
    assert rendered.description == "Durée : 1\u00a0heure 30 minutes"
    assert rendered.media == ("assets/live.png",)
    assert rendered.thread is True


def test_variant_options_override_the_default_ones(workspace_with: Build) -> None:
    renderer = workspace_with({
        "t.j2": "---\ntitle: Titre commun\nmedia: [assets/a.png]\n---\ncorps",
        "t.x.j2": "---\nmedia: [assets/b.png, assets/c.png]\n---\ncorps X",
    })
    rendered = renderer.render_for("x", "t", make_context(link=None))
    assert (rendered.title, rendered.media) == ("Titre commun", ("assets/b.png", "assets/c.png"))


def test_the_schedule_wins_over_the_template_for_link_and_media(workspace_with: Build) -> None:
    renderer = workspace_with({"t.j2": (
        "---\nlink: https://mooc-leader20.fr/par-defaut\nmedia: [assets/a.png]\n---\n{{ link }}")})
    from_post = renderer.render_for("facebook", "t", make_context(
        "facebook", link="https://mooc-leader20.fr/du-post", media=("assets/post.png",)))
    assert from_post.link is not None and from_post.link.startswith(
        "https://mooc-leader20.fr/du-post?utm_source=facebook")
    assert from_post.text == from_post.link
    assert from_post.media == ("assets/post.png",)
    from_template = renderer.render_for("facebook", "t",
                                        make_context("facebook", link=None))
    assert from_template.link is not None
    assert from_template.link.startswith("https://mooc-leader20.fr/par-defaut?utm_source=")
    assert from_template.media == ("assets/a.png",)


def test_error_lines_count_the_front_matter(workspace_with: Build) -> None:
    renderer = workspace_with({"t.j2": "---\ntitle: x\n---\nligne 4\n{{ inconnu }}"})
    with pytest.raises(TemplateError) as caught:
        renderer.render_for("x", "t", make_context())
    assert (caught.value.problem.file, caught.value.problem.line) == ("templates/t.j2", 5)


@pytest.mark.parametrize(
    ("front", "line", "words"),
    [
        ("---\ntitel: x\n---\n", 2, "did you mean 'title'"),
        ("---\nthread: oui\n---\n", 2, "true or false"),
        ("---\ntitle: x\nmedia: {a: 1}\n---\n", 3, "list of paths"),
        ("---\ntitle: [unclosed\n---\n", 2, "not valid YAML"),
        ("---\ntitle: x\n", 1, "never closed"),
    ],
)
def test_front_matter_mistakes_are_problems(workspace_with: Build, front: str, line: int,
                                            words: str) -> None:
    renderer = workspace_with({"t.j2": front + "corps"})
    with pytest.raises(TemplateError) as caught:
        renderer.render_for("x", "t", make_context())
    problem = caught.value.problem
    assert problem.file == "templates/t.j2"
    assert problem.line == line
    assert words in problem.message + problem.fix


def test_an_error_in_an_option_value_points_at_its_line(workspace_with: Build) -> None:
    renderer = workspace_with({"t.j2": "---\ntitle: ok\nlink: \"{{ sesion.link }}\"\n---\nx"})
    with pytest.raises(TemplateError) as caught:
        renderer.render_for("x", "t", make_context(link=None))
    assert caught.value.problem.line == 3
    assert "did you mean 'session'" in caught.value.problem.fix


def test_workspace_templates_shadow_the_built_in_ones(workspace_with: Build) -> None:
    builtin = workspace_with({})
    assert "session_reminder" in builtin.available()
    text = builtin.render_for("x", "session_reminder", make_context()).text
    assert "Live n°3" in text and "dans 7 jours" in text
    shadowing = workspace_with({"_cm.j2": "{% macro when(m) %}QUAND{% endmacro %}"
                                          "{% macro link_line(u) %}LIEN{% endmacro %}"})
    text = shadowing.render_for("x", "session_reminder", make_context()).text
    assert "QUAND" in text and "LIEN" in text


def test_every_documented_name_is_in_the_context(workspace_with: Build) -> None:
    body = ("{{ campaign.id }}|{{ campaign.name }}|{{ post.id }}|{{ post.occurrence }}|"
            "{{ channel.id }}|{{ channel.network }}|{{ channel.name }}|{{ network }}|"
            "{{ session.id }}|{{ session.end | time_short }}|{{ session.link }}|"
            "{{ at | time_short }}|{{ now == at }}|{{ variables.course }}|{{ course }}")
    renderer = workspace_with({"t.j2": body})
    text = renderer.render_for("x", "t", make_context(session_link="https://youtu.be/x")).text
    assert text == ("lancement|Lancement|teaser|1|x-channel|x|Canal|x|live-3|19:30|"
                    "https://youtu.be/x|18:00|True|Du Manager au Leader 2.0|"
                    "Du Manager au Leader 2.0")


def test_reserved_names_win_over_variables(workspace_with: Build) -> None:
    renderer = workspace_with({"t.j2": "{{ network }} {{ variables.network }}"})
    text = renderer.render_for("x", "t", make_context(variables={"network": "mien"})).text
    assert text == "x mien"
