from nivesh_platform.machine_load import LoadWatch


def test_a_failure_on_an_overloaded_machine_says_so():
    busy = LoadWatch(cores=2, peak=8.4)
    assert busy.failure_note().startswith("The machine was overloaded during the run (load average up to 8.4 on 2")


def test_a_quiet_machine_adds_nothing_to_a_failure():
    assert LoadWatch(cores=2, peak=3.9).failure_note() == ""


def test_sampling_keeps_the_highest_load_seen():
    watch = LoadWatch(cores=2, peak=1e6)
    watch.sample()
    assert watch.peak == 1e6
    fresh = LoadWatch(cores=2)
    fresh.sample()
    assert fresh.peak >= 0
