//! authcore-ldap: under construction.
