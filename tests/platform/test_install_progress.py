"""`make install`'s progress: pip's hundreds of lines folded to one every 15 s, each phase once, errors kept."""

from nivesh_platform.install_progress import follow

PIP_OUTPUT = [
    "Obtaining file:///src/images/contract\n",
    "Collecting apache-airflow==3.3.2\n",
    "  Downloading apache_airflow-3.3.2-py3-none-any.whl (12 kB)\n",
    "Collecting mlflow==3.17.2\n",
    "Requirement already satisfied: pip in ./.venv/lib/python3.11/site-packages\n",
    "Collecting torch==2.13.0\n",
    "WARNING: Retrying (Retry(total=4)) after connection broken: /simple/torch/\n",
    "Installing collected packages: torch, mlflow, apache-airflow\n",
    "Successfully installed apache-airflow-3.3.2 mlflow-3.17.2 torch-2.13.0\n",
]


def test_pip_output_becomes_a_few_progress_lines():
    said, now = [], [0.0]

    def five_seconds_apart():
        for line in PIP_OUTPUT:
            now[0] += 5
            yield line

    collected = follow(five_seconds_apart(), write=said.append, clock=lambda: now[0])
    assert collected == 3
    assert said == [
        "  15 s: 1 packages collected, now apache-airflow==3.3.2",
        "  30 s: 3 packages collected, now torch==2.13.0",
        "WARNING: Retrying (Retry(total=4)) after connection broken: /simple/torch/",
        "  40 s: installing 3 packages (about a minute for all of them)",
        "  45 s: installed 3 packages",
    ]
