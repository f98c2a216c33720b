#ifndef CS_CHIREDIS_SHIM_H
#define CS_CHIREDIS_SHIM_H
#include <hiredis/hiredis.h>
#include <hiredis/read.h>
#endif
