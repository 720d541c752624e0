import atexit
import gc
import subprocess
import sys

from cnntopo.entrypoint import run_step


def test_the_heap_is_frozen_after_every_exit_handler_the_step_registers(monkeypatch):
    registered = []
    monkeypatch.setattr(atexit, "register", registered.append)

    def flush_outputs():
        pass

    def main():
        atexit.register(flush_outputs)

    run_step(main)
    # Exit handlers run last-in, first-out: the freeze comes after the step's own handlers.
    assert registered == [gc.freeze, flush_outputs]


def test_a_step_still_runs_its_exit_handlers_and_exits_with_its_status(tmp_path):
    marker = tmp_path / "flushed"
    code = (
        "import atexit, pathlib, sys\n"
        "from cnntopo.entrypoint import run_step\n"
        "def main():\n"
        f"    atexit.register(pathlib.Path({str(marker)!r}).write_text, 'done')\n"
        "    sys.exit(3)\n"
        "run_step(main)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], check=False)
    assert result.returncode == 3
    assert marker.read_text() == "done"
