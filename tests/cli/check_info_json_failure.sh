#!/usr/bin/env bash
# check_info_json_failure.sh INNMF GOOD.h5 BAD: `innmf info --json GOOD.h5 BAD` must exit 3 and
# print nothing on stdout (JSON is printed once every file has been read: never half an array).
set -u
innmf=$1 good=$2 bad=$3
out=$("$innmf" info --json "$good" "$bad" 2>/dev/null)
status=$?
[[ $status -eq 3 && -z $out ]] || { echo "FAIL: exit $status (expected 3), stdout: $out"; exit 1; }
out=$("$innmf" info --json "$good" "$good") || { echo "FAIL: info --json on a good file twice exited $?"; exit 1; }
[[ $out == "["* && $out == *"]" ]] || { echo "FAIL: two files are not one JSON array: $out"; exit 1; }
echo "OK: info --json with a bad file exits 3 with empty stdout"
