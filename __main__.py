"""coder-platform: load and validate the stack config once, then wire the components.

Nothing is registered before the whole config validates and every secret input is read
(contract C1). ``wiring/`` holds one ``build_*`` function per component.
"""

from pathlib import Path

import pulumi

from wiring.coder import build_coder, build_seed, build_vault_secrets
from wiring.data import build_backup_store, build_database, build_operators, build_storage
from wiring.load import load
from wiring.operations import build_observability, build_reconciler, build_restore_drill
from wiring.ownership import make_kubernetes_fields_authoritative

loaded = load(Path(__file__).resolve().parent)
config, inputs = loaded.config, loaded.inputs
make_kubernetes_fields_authoritative()

storage = build_storage(config)
operators = build_operators(config)
backup_store = build_backup_store(config)
database = build_database(config, storage, operators, backup_store, loaded.store_connection_string)
vault_secrets = build_vault_secrets(config)
coder = build_coder(config, inputs, database)
seed = build_seed(loaded, coder, vault_secrets)
# Not after the seed: a Coder reset drops the seed from state, and the runner refuses to when
# anything outside it depends on it (automation/engine/state_edits.py).
reconciler = build_reconciler(config, [operators, database, coder], owns_coder=coder is not None)
observability = build_observability(config, database)
restore_drill = build_restore_drill(config, database, backup_store)

pulumi.export("storageClassName", storage.name)
pulumi.export("databaseClusterName", database.cluster_name)
pulumi.export("databaseAppSecretName", database.app_secret_name)
pulumi.export("databaseRwHost", database.rw_host)
if backup_store is not None:
    pulumi.export("backupDestinationPath", backup_store.destination_path)
    pulumi.export("backupIdentityClientId", backup_store.client_id)
if coder is not None:
    pulumi.export("coderAccessUrl", coder.access_url)
if vault_secrets is not None:
    pulumi.export("vaultKvMount", vault_secrets.mount_path)
if reconciler is not None:
    pulumi.export("reconcilerSchedule", reconciler.schedule)
if observability is not None:
    pulumi.export("alertRuleName", observability.rule_name)
if restore_drill is not None:
    pulumi.export("restoreDrillSchedule", config.restore_drill.schedule)
