"""Opening ports (device paths and pyserial URLs, each failure one sentence) and the reader thread
through unplug, replug and a full queue."""

from __future__ import annotations

import json
import os
import queue
import re
import socket
import sys
import threading

import pytest

from tests.monitor.conftest import PtyPort, wait_for
from workbench.core.errors import WorkbenchError
from workbench.monitor.reader import LINUX_GROUP_HINT, Chunk, PortReader, open_port


def one_sentence(text: str) -> bool:
    """One line, no sentence after a full stop."""
    return "\n" not in text and not re.search(r"[.!?]\s+\S", text) and bool(text.strip())


def clock() -> float:
    return 0.0


def test_open_port_reads_a_device_path_through_its_symlink(pty_port: PtyPort) -> None:
    port = open_port(pty_port.path, 115200)
    try:
        pty_port.write(b"hello\n")
        wait_for(lambda: port.in_waiting >= 6, "the bytes")
        assert port.read(6) == b"hello\n"
        assert port.baudrate == 115200
    finally:
        port.close()


def test_open_port_takes_a_pyserial_url() -> None:
    port = open_port("loop://", 9600)
    try:
        port.write(b"1,2\n")
        assert port.read(4) == b"1,2\n"
    finally:
        port.close()


def test_a_port_that_does_not_exist_is_one_sentence(tmp_path: os.PathLike[str]) -> None:
    missing = f"{tmp_path}/ttyACM9"
    with pytest.raises(WorkbenchError) as raised:
        open_port(missing, 115200)
    assert raised.value.message == f"{missing}: no such port"
    assert one_sentence(raised.value.message)
    assert "Ports present now" in raised.value.hint or "No serial port" in raised.value.hint


def test_a_port_another_program_holds_is_busy(pty_port: PtyPort) -> None:
    first = open_port(pty_port.path, 115200)
    try:
        with pytest.raises(WorkbenchError) as raised:
            open_port(pty_port.path, 115200)
    finally:
        first.close()
    assert raised.value.message == f"{pty_port.path} is busy: another program has it open"
    assert "exclusively lock" in raised.value.details  # pyserial's own words, one click away
    open_port(pty_port.path, 115200).close()  # free again once the first one closed


def _open_as_nobody(path: str) -> dict[str, str]:
    """open_port(path) in a forked child that gave up root, as a user without access would."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: no pytest machinery from here on, only os._exit
        result = {"message": "opened", "hint": ""}
        try:
            os.setgid(65534)
            os.setuid(65534)
            open_port(path, 115200).close()
        except WorkbenchError as error:
            result = {"message": error.message, "hint": error.hint}
        except BaseException as error:  # noqa: BLE001 - reported to the parent
            result = {"message": f"unexpected {error!r}", "hint": ""}
        os.write(write_end, json.dumps(result).encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    loaded: dict[str, str] = json.loads(data)
    return loaded


@pytest.mark.skipif(sys.platform != "linux", reason="the dialout hint is Linux's")
def test_a_port_the_user_may_not_open_says_which_group_to_join(pty_port: PtyPort) -> None:
    os.chmod(pty_port.device, 0o600)  # the pty's owner only, like a board's node owned by root:dialout
    if os.geteuid() == 0:  # root opens anything: ask as the nobody user
        result = _open_as_nobody(pty_port.device)
    else:
        os.chmod(pty_port.device, 0)
        with pytest.raises(WorkbenchError) as raised:
            open_port(pty_port.device, 115200)
        result = {"message": raised.value.message, "hint": raised.value.hint}
    assert result["message"] == f"no permission to open {pty_port.device}"
    assert result["hint"] == LINUX_GROUP_HINT


def test_a_baud_rate_the_port_refuses_is_one_sentence(pty_port: PtyPort) -> None:
    with pytest.raises(WorkbenchError) as raised:
        open_port(pty_port.path, -1)
    assert raised.value.message == f"{pty_port.path} does not accept the baud rate -1"
    assert one_sentence(raised.value.message)
    open_port(pty_port.path, 115200).close()  # the failed attempt left the port free


def test_an_unknown_url_and_a_refused_connection_are_one_sentence_each() -> None:
    with pytest.raises(WorkbenchError) as unknown:
        open_port("bogus://board", 115200)
    assert unknown.value.message == "bogus://board is not a port address pyserial knows"
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    with pytest.raises(WorkbenchError) as refused:
        open_port(f"socket://127.0.0.1:{free}", 115200)
    assert refused.value.message == f"could not connect to socket://127.0.0.1:{free} (connection refused)"
    assert one_sentence(refused.value.message)


class Taken:
    """What the reader queued, taken off the queue as a processor would."""

    def __init__(self, chunks: queue.Queue[Chunk]) -> None:
        self.chunks = chunks
        self.items: list[Chunk] = []

    def take(self) -> list[Chunk]:
        while True:
            try:
                self.items.append(self.chunks.get_nowait())
            except queue.Empty:
                return self.items

    def bytes(self) -> bytes:
        return b"".join(data for _, data in self.take() if data is not None)

    def gaps(self) -> list[int]:
        """Where the disconnects are: how many bytes came before each."""
        before, gaps = 0, []
        for _, data in self.take():
            if data is None:
                gaps.append(before)
            else:
                before += len(data)
        return gaps


def test_the_reader_waits_for_an_unplugged_port_and_reopens_it_when_it_comes_back(pty_port: PtyPort) -> None:
    """Bytes before the unplug, a gap, the reconnect counted, bytes after the replug: in order."""
    chunks: queue.Queue[Chunk] = queue.Queue(maxsize=64)
    reader = PortReader(pty_port.path, 115200, open_port(pty_port.path, 115200), chunks, clock, poll_s=0.02)
    taken = Taken(chunks)
    reader.start()
    try:
        pty_port.write(b"before\n")
        wait_for(lambda: taken.bytes() == b"before\n", "the bytes before")
        pty_port.unplug()
        wait_for(lambda: not reader.connected, "the reader to notice the unplug")
        assert reader.message == f"reconnecting to {pty_port.path}…"
        pty_port.plug()
        wait_for(lambda: reader.reconnects == 1 and reader.connected, "the reconnect")
        pty_port.write(b"after\n")
        wait_for(lambda: taken.bytes() == b"before\nafter\n", "the bytes after")
    finally:
        reader.stop()
    assert taken.bytes() == b"before\nafter\n"
    assert taken.gaps() == [len(b"before\n")]
    assert reader.reconnects == 1
    assert reader.message == ""


def test_a_full_queue_makes_the_reader_wait_and_nothing_is_dropped(pty_port: PtyPort) -> None:
    """With a queue of 2 chunks and nobody taking them, the board's bytes wait (in the reader, the
    kernel, the writer); once taken, every byte arrives, in order."""
    sent = b"".join(b"%06d,1.5,-2.25\n" % i for i in range(20_000))  # 320 kB: far more than the pty holds
    chunks: queue.Queue[Chunk] = queue.Queue(maxsize=2)
    reader = PortReader(pty_port.path, 115200, open_port(pty_port.path, 115200), chunks, clock)
    reader.start()
    writer = threading.Thread(target=pty_port.write, args=(sent,), daemon=True)
    writer.start()
    try:
        wait_for(chunks.full, "the queue to fill")
        assert writer.is_alive()  # the board is held back, not ignored
        taken = Taken(chunks)
        wait_for(lambda: len(taken.bytes()) >= len(sent), "every byte")
        writer.join(timeout=10)
    finally:
        reader.stop()
    assert taken.bytes() == sent
    assert taken.gaps() == []


def test_a_url_port_is_retried_after_its_connection_drops(board_server: tuple[str, queue.Queue[socket.socket]]) -> None:
    url, accepted = board_server
    chunks: queue.Queue[Chunk] = queue.Queue(maxsize=64)
    reader = PortReader(url, 115200, open_port(url, 115200), chunks, clock, poll_s=0.02)
    reader.start()
    taken = Taken(chunks)
    try:
        first = accepted.get(timeout=10)
        first.sendall(b"one\n")
        wait_for(lambda: taken.bytes() == b"one\n", "the first bytes")
        first.close()
        second = accepted.get(timeout=10)
        wait_for(lambda: reader.reconnects == 1, "the reconnect")
        second.sendall(b"two\n")
        wait_for(lambda: taken.bytes() == b"one\ntwo\n", "the bytes after")
    finally:
        reader.stop()
        while not accepted.empty():
            accepted.get().close()
    second.close()
    assert taken.gaps() == [len(b"one\n")]
    assert reader.reconnects == 1


def test_a_url_port_is_read_in_blocks_not_a_byte_a_read(board_server: tuple[str, queue.Queue[socket.socket]]) -> None:
    """pyserial's socket port says only whether a byte waits: reading `in_waiting` bytes would
    take one byte a read. 320 kB sent at once arrive whole, in order, in large chunks."""
    url, accepted = board_server
    sent = b"".join(b"%06d,1.5,-2.25\n" % i for i in range(20_000))
    chunks: queue.Queue[Chunk] = queue.Queue(maxsize=64)
    reader = PortReader(url, 115200, open_port(url, 115200), chunks, clock)
    reader.start()
    taken = Taken(chunks)
    board = accepted.get(timeout=10)
    try:
        board.sendall(sent)
        wait_for(lambda: len(taken.bytes()) >= len(sent), "every byte")
    finally:
        reader.stop()
        board.close()
    assert taken.bytes() == sent
    assert len(taken.items) < len(sent) // 1000  # a byte a read would be 320,000 chunks


def test_a_reopened_port_is_marked_before_its_bytes(pty_port: PtyPort) -> None:
    """After a reconnect the reader hands on (time, b"") before the new bytes: the port opened
    again then (the stream judges the first line after it by that)."""
    chunks: queue.Queue[Chunk] = queue.Queue(maxsize=64)
    reader = PortReader(pty_port.path, 115200, open_port(pty_port.path, 115200), chunks, clock, poll_s=0.02)
    reader.start()
    taken = Taken(chunks)
    try:
        pty_port.write(b"before\n")
        wait_for(lambda: taken.bytes() == b"before\n", "the bytes before")
        pty_port.replug()
        wait_for(lambda: reader.reconnects == 1, "the reconnect")
        pty_port.write(b"after\n")
        wait_for(lambda: taken.bytes() == b"before\nafter\n", "the bytes after")
    finally:
        reader.stop()
    kinds = [None if data is None else data[:1] for _, data in taken.items]
    assert kinds[kinds.index(None) :][:3] == [None, b"", b"a"]


def test_stop_ends_the_reader_and_frees_the_port(pty_port: PtyPort) -> None:
    chunks: queue.Queue[Chunk] = queue.Queue(maxsize=4)
    reader = PortReader(pty_port.path, 115200, open_port(pty_port.path, 115200), chunks, clock)
    reader.start()
    reader.stop()
    assert not reader.alive
    open_port(pty_port.path, 115200).close()  # not held any more
