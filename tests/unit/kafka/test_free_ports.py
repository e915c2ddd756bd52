"""Free loopback ports for a local broker's listeners and the services: distinct, and bindable."""
import socket

from citybus.kafka.local import free_port, free_ports


def test_ports_chosen_together_are_distinct_and_free():
    ports = free_ports(64)
    assert len(set(ports)) == 64
    for port in ports:  # each is free again once chosen
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


def test_one_port_is_free():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", free_port()))
