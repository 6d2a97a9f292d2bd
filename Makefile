# `sam build` runs one `build-<LogicalId>` target per function (template.yaml:
# `BuildMethod: makefile`), in the source tree (samconfig.toml:
# `build_in_source = true`) with ARTIFACTS_DIR set to that function's folder.
#
# Each target first asks cargo for every function's binary in one build: the
# first target compiles the dependency graph once for all of them, and the
# targets after it find everything built (cargo's own check, about a second)
# and only copy their binary. Building each function on its own, as SAM's
# rust-cargolambda method does, links every binary in a separate cargo run and
# makes SAM hash the whole tree, target/ included, once per function.
#
# The architecture is the template's (`Globals.Function.Architectures`), the
# binary each target copies its function's `Metadata.BuildProperties.Binary`:
# tests/template.rs holds the three together.

FUNCTIONS := confirm-outage restore-platform verify-recovery check-derp-peers \
	escalate-incident approve-remedy reconcile evaluate-readiness
LAMBDA_DIR := $(or $(CARGO_TARGET_DIR),target)/lambda

.PHONY: functions
functions:
	cargo lambda build --release --arm64 --locked $(addprefix --bin ,$(FUNCTIONS))

# $(call artifact,BINARY): that function's bootstrap into its artifacts folder.
define artifact
	test -n "$(ARTIFACTS_DIR)" || { echo "make: ARTIFACTS_DIR is not set (sam build sets it)" >&2; exit 2; }
	cp $(LAMBDA_DIR)/$(1)/bootstrap "$(ARTIFACTS_DIR)/bootstrap"
endef

build-ConfirmOutageFunction: functions
	$(call artifact,confirm-outage)

build-RestorePlatformFunction: functions
	$(call artifact,restore-platform)

build-VerifyRecoveryFunction: functions
	$(call artifact,verify-recovery)

build-CheckDerpPeersFunction: functions
	$(call artifact,check-derp-peers)

build-EscalateIncidentFunction: functions
	$(call artifact,escalate-incident)

build-ApproveRemedyFunction: functions
	$(call artifact,approve-remedy)

build-ReconcileFunction: functions
	$(call artifact,reconcile)

build-EvaluateReadinessFunction: functions
	$(call artifact,evaluate-readiness)
