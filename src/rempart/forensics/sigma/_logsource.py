"""Sigma log sources -> the (parser, channel, event id) keys of the events they cover."""

from __future__ import annotations

from sigma.rule import SigmaLogSource

from rempart.forensics.sigma._values import Unsupported

#: (parser name, channel or "*", event id or None for any)
LogKey = tuple[str, str, int | None]

SYSMON = "Microsoft-Windows-Sysmon/Operational"
PS_OPERATIONAL = "Microsoft-Windows-PowerShell/Operational"
PS_CLASSIC = "Windows PowerShell"

#: product windows, service -> channel (the services of SigmaHQ's windows rules)
WINDOWS_SERVICES = {
    "security": "Security",
    "system": "System",
    "application": "Application",
    "sysmon": SYSMON,
    "powershell": PS_OPERATIONAL,
    "powershell-classic": PS_CLASSIC,
    "taskscheduler": "Microsoft-Windows-TaskScheduler/Operational",
    "wmi": "Microsoft-Windows-WMI-Activity/Operational",
    "windefend": "Microsoft-Windows-Windows Defender/Operational",
    "bits-client": "Microsoft-Windows-Bits-Client/Operational",
    "ntlm": "Microsoft-Windows-NTLM/Operational",
    "codeintegrity-operational": "Microsoft-Windows-CodeIntegrity/Operational",
    "firewall-as": "Microsoft-Windows-Windows Firewall With Advanced Security/Firewall",
    "dns-client": "Microsoft-Windows-DNS Client Events/Operational",
    "dns-server": "DNS Server",
    "terminalservices-localsessionmanager": (
        "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational"
    ),
    "lsa-server": "Microsoft-Windows-LSA/Operational",
    "appxdeployment-server": "Microsoft-Windows-AppXDeploymentServer/Operational",
    "smbclient-security": "Microsoft-Windows-SmbClient/Security",
    "smbclient-connectivity": "Microsoft-Windows-SmbClient/Connectivity",
    "driver-framework": "Microsoft-Windows-DriverFrameworks-UserMode/Operational",
    "capi2": "Microsoft-Windows-CAPI2/Operational",
    "certificateservicesclient-lifecycle-system": (
        "Microsoft-Windows-CertificateServicesClient-Lifecycle-System/Operational"
    ),
    "openssh": "OpenSSH/Operational",
    "shell-core": "Microsoft-Windows-Shell-Core/Operational",
    "diagnosis-scripted": "Microsoft-Windows-Diagnosis-Scripted/Operational",
    "vhdmp": "Microsoft-Windows-VHDMP-Operational",
    "msexchange-management": "MSExchange Management",
    "microsoft-servicebus-client": "Microsoft-ServiceBus-Client",
    "ldap_debug": "Microsoft-Windows-LDAP-Client/Debug",
    "printservice-admin": "Microsoft-Windows-PrintService/Admin",
    "printservice-operational": "Microsoft-Windows-PrintService/Operational",
    "appmodel-runtime": "Microsoft-Windows-AppModel-Runtime/Admin",
    "applocker": "Microsoft-Windows-AppLocker/EXE and DLL",
}

#: product windows, category -> (channel, event ids): Sysmon's, plus Security 4688
WINDOWS_CATEGORIES: dict[str, list[tuple[str, tuple[int, ...]]]] = {
    "process_creation": [(SYSMON, (1,)), ("Security", (4688,))],
    "network_connection": [(SYSMON, (3,))],
    "sysmon_status": [(SYSMON, (4, 16))],
    "process_termination": [(SYSMON, (5,))],
    "driver_load": [(SYSMON, (6,))],
    "image_load": [(SYSMON, (7,))],
    "create_remote_thread": [(SYSMON, (8,))],
    "raw_access_thread": [(SYSMON, (9,))],
    "process_access": [(SYSMON, (10,))],
    "file_event": [(SYSMON, (11,))],
    "registry_add": [(SYSMON, (12,))],
    "registry_delete": [(SYSMON, (12,))],
    "registry_set": [(SYSMON, (13,))],
    "registry_rename": [(SYSMON, (14,))],
    "registry_event": [(SYSMON, (12, 13, 14))],
    "create_stream_hash": [(SYSMON, (15,))],
    "pipe_created": [(SYSMON, (17, 18))],
    "wmi_event": [(SYSMON, (19, 20, 21))],
    "dns_query": [(SYSMON, (22,))],
    "file_delete": [(SYSMON, (23, 26))],
    "clipboard_capture": [(SYSMON, (24,))],
    "process_tampering": [(SYSMON, (25,))],
    "file_block_executable": [(SYSMON, (27,))],
    "file_block_shredding": [(SYSMON, (28,))],
    "file_executable_detected": [(SYSMON, (29,))],
    "sysmon_error": [(SYSMON, (255,))],
    "ps_module": [(PS_OPERATIONAL, (4103,))],
    "ps_script": [(PS_OPERATIONAL, (4104,))],
    "ps_classic_start": [(PS_CLASSIC, (400,))],
    "ps_classic_provider_start": [(PS_CLASSIC, (600,))],
    "ps_classic_script": [(PS_CLASSIC, (800,))],
}

#: product linux, service -> syslog programs ("*": any line)
LINUX_SERVICES = {
    "auth": "*",
    "sshd": "sshd",
    "sudo": "sudo",
    "syslog": "*",
    "cron": "CRON",
    "su": "su",
    "useradd": "useradd",
}


def describe(logsource: SigmaLogSource) -> str:
    parts = (logsource.product, logsource.category, logsource.service)
    return "/".join(p or "-" for p in parts)


def logsource_keys(logsource: SigmaLogSource) -> list[LogKey]:
    """The keys a rule's events are found under.

    Raises:
        Unsupported: a log source no parser produces.
    """
    product, category, service = logsource.product, logsource.category, logsource.service
    if product == "windows" and category is None and service in WINDOWS_SERVICES:
        return [("evtx", WINDOWS_SERVICES[service], None)]
    if product == "windows" and service is None and category in WINDOWS_CATEGORIES:
        return [
            ("evtx", channel, eid) for channel, eids in WINDOWS_CATEGORIES[category] for eid in eids
        ]
    if product == "linux" and category is None and service in LINUX_SERVICES:
        return [("syslog", LINUX_SERVICES[service], None)]
    if product == "samba" and service in {"audit", "full_audit"}:
        return [("samba", "full_audit", None)]
    raise Unsupported(f"log source {describe(logsource)}")
