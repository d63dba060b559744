  return 1
}

# block until a semaphore slot becomes free
# prints the number of the slot that it received
bats_semaphore_acquire_slot() {
  mkdir -p "$BATS_SEMAPHORE_DIR"
  # wait for a slot to become free
  # TODO: avoid busy waiting by using signals -> this opens op prioritizing possibilities as well
  while true; do
    # don't lock for reading, we are fine with spuriously getting no free slot
    if [[ $(bats_semaphore_get_free_slot_count) -gt 0 ]]; then
      bats_run_under_lock bash -c bats_semaphore_acquire_while_locked && break
    fi
    sleep 1
  done
}

bats_semaphore_release_slot() {
  # we don't need to lock this, since only our process owns this file
  # and freeing a semaphore cannot lead to conflicts with others
  rm "$BATS_SEMAPHORE_DIR/slot-$1" # this will fail if we had not acquired a semaphore!
}

bats_semaphore_get_free_slot_count() {
  # find might error out without returning something useful when a file is deleted,
  # while the directory is traversed ->  only continue when there was no error
  until used_slots=$(find "$BATS_SEMAPHORE_DIR" -name 'slot-*' 2>/dev/null | wc -l); do :; done
  echo $((BATS_SEMAPHORE_NUMBER_OF_SLOTS - used_slots))
}
