"""A large instrument for the PDF benchmark: 5 principles of 20 indicators each (100 in all;
fewer for the smoke run), in the documented format (docs/INSTRUMENT_FORMAT.md), with texts
of realistic length.

    python benchmarks/large_instrument.py > /tmp/hundred.yaml   # to look at it
"""

from __future__ import annotations

import sys

KEY = "benchmark-large"
PRINCIPLES = ("PA", "PB", "PC", "PD", "PE")
PER_PRINCIPLE = 20
LEVELS = range(0, 5)


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def yaml_text(principles: tuple[str, ...] = PRINCIPLES, per_principle: int = PER_PRINCIPLE) \
        -> str:
    """The instrument's YAML: `len(principles)` × `per_principle` indicators."""
    lines = [f"key: {KEY}", 'version: "1.0"',
             f"title: {_quoted(f'Benchmark instrument: {len(principles) * per_principle} indicators')}",  # noqa: E501
             f"description: {_quoted('Generated for the PDF benchmark.')}",
             "scale:", "  cumulative: true", "  levels:"]
    for level in LEVELS:
        lines += [f"    - value: {level}", f"      label: {_quoted(f'Level {level}')}",
                  f"      summary: {_quoted(f'What level {level} means across the instrument.')}"]
    lines.append("principles:")
    for number, principle in enumerate(principles, 1):
        lines += [f"  - key: {principle}",
                  f"    title: {_quoted(f'Principle {number}: organisation and practice')}",
                  f"    summary: {_quoted('How the administration organises this area.')}",
                  "    indicators:"]
        for n in range(1, per_principle + 1):
            key = f"{principle}.{n}"
            lines += [
                f"      - key: {key}",
                f"        question: {_quoted(f'{key}: is the practice written down, applied and reviewed, and is its effect measured across the administration?')}",  # noqa: E501
                f"        guidance: {_quoted('Give the document, its date, who applies it and the figures that show its effect over the last twelve months.')}",  # noqa: E501
                "        evidence_examples:",
                f"          - {_quoted('A policy or decree')}",
                f"          - {_quoted('Minutes of the steering committee')}",
                "        descriptors:"]
            for level in LEVELS:
                lines.append(f"          {level}: {_quoted(f'At level {level}, the practice of {key} is in place to degree {level} of four, with evidence that shows it.')}")  # noqa: E501
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(yaml_text())
