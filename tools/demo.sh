#!/usr/bin/env bash
# The iotpub demo (`make demo`): a private D-Bus bus modelled on the system bus, iotpub-cloudsim (the local
# emulator of Alibaba Cloud IoT Platform) and iotpubd, all on loopback in a temporary directory. The envsensor
# example runs as the unprivileged user "nobody", allowed by one access rule, and publishes through
# libiotpub; a reading is also published with plain busctl. The emulator's record shows what the "cloud"
# received, decrypted, and iotpubctl shows the daemon's status. Everything is stopped again at the end.
#   Usage: tools/demo.sh [BUILD_DIR]
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
export IOTPUB_TOP=$top IOTPUB_BUILD=$build
source "$top/tests/lib/harness.sh"
harness_init demo "$IOTPUBD" "$CLOUDSIM" "$IOTPUB_BUILD/envsensor" "$IOTPUB_BUILD/iotpubctl"
ctl() { "$IOTPUB_BUILD/iotpubctl" --address="$BUS" "$@"; }

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "Starting a private D-Bus bus with the iotpub policy"
start_bus

step "Starting iotpub-cloudsim: the platform's CoAP+AES endpoint (UDP) on 127.0.0.1"
new_identity envsensor
start_cloudsim "$CLOUD_DEVICES"

step "Starting iotpubd with one identity (ProductKey ${ID_PK[envsensor]}, DeviceName envsensor)"
configure_identity envsensor
rule='allow user:nobody envsensor /sys/${ProductKey}/${DeviceName}/thing/event/property/post'
printf '# Only user nobody, only the property-post topic of device envsensor.\n%s\n' "$rule" >"$CONFDIR/acl.conf"
echo "Access rule in $CONFDIR/acl.conf:"
echo "  $rule"
start_daemon
echo "The device secret lives only in $CONFDIR/devices/envsensor.conf (mode 0600); applications never see it."

step "Which rule lets nobody publish there? iotpubctl acl explain --user=nobody envsensor TOPIC"
ctl acl explain --user=nobody envsensor "/sys/${ID_PK[envsensor]}/envsensor/thing/event/property/post"

step "Running envsensor as user nobody: three property posts through libiotpub, each waited for"
setpriv --reuid=nobody --regid=nogroup --clear-groups env IOTPUB_BUS_ADDRESS="$BUS" \
        "$IOTPUB_BUILD/envsensor" --device=envsensor --count=3 --wait --simulate

pk=${ID_PK[envsensor]}
topic="/sys/$pk/envsensor/thing/event/property/post"
payload='{"id":"1","version":"1.0","params":{"CurrentTemperature":23.6,"CurrentHumidity":41},"method":"thing.event.property.post"}'
mapfile -t bytes < <(printf '%s' "$payload" | od -An -tu1 -v | tr -s ' ' '\n' | grep .)

step "Publishing a property post over D-Bus, as any application could:"
echo "busctl call org.iotpub1 /org/iotpub1 org.iotpub1.Manager Publish ssaya{sv} envsensor \\"
echo "    $topic ${#bytes[@]} <payload bytes> 1 content-type s json"
reply=$(bctl call org.iotpub1 /org/iotpub1 org.iotpub1.Manager Publish 'ssaya{sv}' envsensor "$topic" \
        "${#bytes[@]}" "${bytes[@]}" 1 content-type s json)
echo "reply: $reply   (the message id; returned once the message was durably queued)"

step "Waiting for iotpubd to encrypt and deliver it"
wait_for --timeout=30 record_has 4 || fail "the emulator did not receive all four messages"

step "What the cloud received (iotpub-cloudsim's record, payload decrypted):"
python3 - "$RECORD" <<'PY'
import base64, json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("event") == "publish":
        r["payload"] = base64.b64decode(r["payload"]).decode("utf-8", "replace")
    print(json.dumps(r, indent=2))
PY

step "iotpubctl status"
ctl status

step "Stopping everything"
